#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one grammar for durations, in flags and in containerd's hosts.toml alike: Go's
/// `time.ParseDuration` forms (`300s`, `1m30s`, `1.5m`, `250ms`, `2h`; units ns us µs ms s m h).
public enum DurationText {
    /// What the grammar accepts, for error messages and `--help`.
    public static let forms = "a duration such as 300s, 1m30s, 1.5m, 250ms or 2h (units ns, us, ms, s, m, h)"

    /// The duration `text` spells, or nil. No sign (nothing here may be negative); at most 10⁶ hours.
    public static func parse(_ text: String) -> Duration? {
        var rest = Substring(text)
        var nanoseconds = 0.0
        guard !rest.isEmpty else { return nil }
        if rest == "0" { return .zero }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number), value.isFinite else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs", "μs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            default: return nil
            }
            nanoseconds += value * scale
            guard nanoseconds <= longest else { return nil }
        }
        return .nanoseconds(Int64(nanoseconds.rounded()))
    }

    /// The longest duration spelled, in nanoseconds: 10⁶ hours (over a century; well inside Int64).
    static let longest = 3600e15

    /// `300s`, `1m30s`, `250ms`, `2h`: how a duration is shown back (`--help` defaults), in the same grammar.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        if milliseconds % 1000 != 0 || milliseconds == 0 { return "\(milliseconds)ms" }
        let seconds = milliseconds / 1000
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return seconds < 60 || seconds % 60 == 0 ? "\(seconds)s" : "\(seconds / 60)m\(seconds % 60)s"
    }
}
