#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// Draws progress on stderr: `.terminal` redraws one line in place, `.plain` prints a line every few seconds.
final class StderrProgress: ProgressReporter, @unchecked Sendable {
    /// How the line is drawn.
    enum Style: Sendable { case terminal, plain }

    private let style: Style
    private let interval: Duration
    private let lock = Lock()
    private var label = ""
    private var total: Int64?
    private var start = ContinuousClock.now
    private var lastDraw = ContinuousClock.now
    private var lastBytes: Int64 = 0

    /// A reporter drawing in `style`.
    init(style: Style) {
        self.style = style
        interval = style == .terminal ? .milliseconds(200) : .seconds(5)
    }

    /// Starts a line for `source`.
    func started(_ source: Source, totalBytes: Int64?) {
        lock.withLock {
            label = source.redacted.lastPathComponent
            total = totalBytes
            start = .now
            lastDraw = start
            lastBytes = 0
        }
    }

    /// Redraws the line when it is time.
    func advanced(to bytes: Int64) {
        let now = ContinuousClock.now
        let line: String? = lock.withLock {
            lastBytes = bytes
            guard now - lastDraw >= interval else { return nil }
            lastDraw = now
            return render(bytes: bytes, elapsed: now - start)
        }
        if let line { write(line, final: false) }
    }

    /// Draws the last line.
    func finished() {
        let line = lock.withLock { render(bytes: lastBytes, elapsed: .now - start) }
        write(line, final: true)
    }

    private func render(bytes: Int64, elapsed: Duration) -> String {
        let seconds = max(Double(elapsed.milliseconds) / 1000, 0.001)
        let rate = Double(bytes) / seconds
        var text = "\(label) \(Self.size(bytes))"
        if let total, total > 0 {
            let percent = min(100, Int(Double(bytes) * 100 / Double(total)))
            text += " / \(Self.size(total)) \(percent)%"
            if rate > 0, bytes < total { text += " ETA \(Int(Double(total - bytes) / rate))s" }
        }
        text += " \(Self.size(Int64(rate)))/s"
        return text
    }

    private func write(_ line: String, final: Bool) {
        let text: String
        switch style {
        case .terminal: text = "\r\u{1B}[K" + line + (final ? "\n" : "")
        case .plain: text = line + "\n"
        }
        StandardStream.error.write(Data(text.utf8))
    }

    static func size(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(fixedPoint: value, places: 1) + " " + units[unit]
    }
}
