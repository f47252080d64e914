import ArgumentParser
import Pipeline

/// A duration flag value: `500ms`, `10s`, `2m`, `1h`, or bare seconds.
struct DurationArgument: ExpressibleByArgument, Sendable {
    let duration: Duration

    init?(argument: String) {
        let text = argument.trimmingWhitespace.lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = text
        var scale = 1.0
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            number = String(text.dropLast(suffix.count))
            scale = factor
            break
        }
        // At most 10 years: a larger number is a typo, and would not fit in Int64 milliseconds (a trap).
        guard let value = Double(number), value >= 0, value.isFinite, value * scale <= Self.longest else { return nil }
        duration = .milliseconds(Int64((value * scale * 1000).rounded()))
    }

    /// The longest duration a flag takes, in seconds (10 years).
    static let longest = 10.0 * 365 * 24 * 3600

    init(_ duration: Duration) { self.duration = duration }

    /// How `--help` shows a default: `30s`, `500ms`.
    var defaultValueDescription: String {
        let milliseconds = duration.milliseconds
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

extension SHA256Digest: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

extension Platform: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
