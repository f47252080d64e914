#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The text of one progress line: a label, bytes so far (of a total when known), the current rate and
/// an ETA, cut to a terminal's width so that a line redrawn in place never wraps.
public enum ProgressLine {
    /// The line for `label` at `bytes` of `total`, moving at `rate` bytes a second (nil: not known yet),
    /// at most `width - 1` columns (the last column is left free: some terminals wrap on it at once).
    public static func text(label: String, bytes: Int64, total: Int64?, rate: Double?, width: Int) -> String {
        var stats = size(bytes)
        if let total, total > 0 {
            let percent = min(100, Int(Double(bytes) * 100 / Double(total)))
            stats += " / \(size(total)) \(percent)%"
        }
        if let rate {
            stats += " \(size(Int64(rate)))/s"
            if let total, total > bytes, rate >= 1 { stats += " ETA \(eta(Double(total - bytes) / rate))" }
        }
        return fit(label: label, stats: stats, columns: max(0, width - 1))
    }

    /// `label stats` in `columns`: the label is shortened first (ending in `…`), then the stats are cut.
    static func fit(label: String, stats: String, columns: Int) -> String {
        let whole = label.isEmpty ? stats : label + " " + stats
        if self.columns(whole) <= columns { return whole }
        let room = columns - self.columns(stats) - 1
        // "…" counts two columns here, as every non-ASCII character does.
        if room >= 4 { return cut(label, to: room - 2) + "… " + stats }
        return cut(stats, to: columns)
    }

    /// Columns `text` takes: one per ASCII character, two for any other (wide characters take two; so
    /// the count is never short, and the line never wraps).
    public static func columns(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + ($1.isASCII ? 1 : 2) }
    }

    /// The longest prefix of `text` (whole characters) that fits in `columns`.
    static func cut(_ text: String, to columns: Int) -> String {
        var used = 0
        var kept = ""
        for character in text {
            let width = self.columns(String(character))
            if used + width > columns { break }
            used += width
            kept.append(character)
        }
        return kept
    }

    /// `512 B`, `1.5 KiB`, `20.0 MiB`.
    public static func size(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(fixedPoint: value, places: 1) + " " + units[unit]
    }

    /// `42s`, `3m05s`, `2h10m`: an ETA short enough for a narrow line.
    static func eta(_ seconds: Double) -> String {
        let whole = Int64(min(seconds.rounded(.up), 99 * 3600))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m" + (whole % 60 < 10 ? "0" : "") + "\(whole % 60)s" }
        return "\(whole / 3600)h" + (whole % 3600 / 60 < 10 ? "0" : "") + "\(whole % 3600 / 60)m"
    }
}

/// The current rate of a transfer: bytes over the last `span` of samples, not the average since the
/// start, so a transfer that slows down (or recovers) shows it within a few seconds.
public struct RateWindow: Sendable {
    private var samples: [(at: ContinuousClock.Instant, bytes: Int64)] = []
    private let span: Duration

    /// A window over the last `span`.
    public init(span: Duration = .seconds(5)) { self.span = span }

    /// Adds a sample: `bytes` so far at `instant`. Fewer bytes than before (staged bytes dropped) starts over.
    /// Called for every chunk: samples closer than 100 ms to the one before replace the newest, so the
    /// window holds about 50 whatever the chunk rate.
    public mutating func add(bytes: Int64, at instant: ContinuousClock.Instant) {
        if let last = samples.last, bytes < last.bytes { samples.removeAll() }
        if samples.count >= 2, instant - samples[samples.count - 2].at < .milliseconds(100) { samples.removeLast() }
        samples.append((instant, bytes))
        // Keep one sample at or before the window's start, as the base the rate is measured from.
        while samples.count > 2, instant - samples[1].at >= span { samples.removeFirst() }
    }

    /// Samples held (at most about `span` / 100 ms + 2).
    public var sampleCount: Int { samples.count }

    /// Bytes a second over the window; nil before two samples at least 100 ms apart.
    public var perSecond: Double? {
        guard let first = samples.first, let last = samples.last else { return nil }
        let elapsed = Double((last.at - first.at).milliseconds) / 1000
        guard elapsed >= 0.1 else { return nil }
        return Double(last.bytes - first.bytes) / elapsed
    }
}
