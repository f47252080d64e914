import ArgumentParser
import Pipeline

/// The grammar of duration and size values, as `--help` states it and usage errors repeat it.
enum FlagGrammar {
    static let text = "Durations are written as Go (and containerd's hosts.toml) writes them: 300s, 1m30s, 1.5m, 250ms, 2h; "
        + "a bare number is seconds. Sizes: 4G, 1.5G, 512M, 4GiB, or bytes (K, M, G, T are powers of 1024)."
}

/// A duration flag value in `DurationText`'s grammar (`300s`, `1m30s`, `1.5m`, `250ms`, `2h`), or bare seconds.
struct DurationArgument: ExpressibleByArgument, Sendable {
    let duration: Duration

    init?(argument: String) {
        let text = argument.trimmingWhitespace
        // Bare seconds (`300`) as before; everything else is the grammar hosts.toml's dial_timeout uses.
        let bare = !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
        let parsed = bare ? Double(text).flatMap { $0 <= Self.longest ? Duration.milliseconds(Int64(($0 * 1000).rounded())) : nil }
            : DurationText.parse(text)
        // At most 10 years: a larger number is a typo.
        guard let parsed, parsed <= .seconds(Int64(Self.longest)) else { return nil }
        duration = parsed
    }

    /// The longest duration a flag takes, in seconds (10 years).
    static let longest = 10.0 * 365 * 24 * 3600

    init(_ duration: Duration) { self.duration = duration }

    /// How `--help` shows a default: `5m`, `30s`, `500ms`.
    var defaultValueDescription: String { DurationText.format(duration) }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// A byte count flag value in `ByteSizeText`'s grammar: `4096`, `512K`, `1.5G`, `4GiB`.
struct ByteCountArgument: ExpressibleByArgument, Sendable {
    let bytes: Int64
    init(_ bytes: Int64) { self.bytes = bytes }
    init?(argument: String) {
        guard let bytes = ByteSizeText.parse(argument.trimmingWhitespace) else { return nil }
        self.bytes = bytes
    }
    /// How `--help` shows a default: `4G`, not `4294967296`.
    var defaultValueDescription: String { ByteSizeText.format(bytes) }
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
