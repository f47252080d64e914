#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one grammar for sizes in flags: bytes, or a number (fractions allowed) with K, M, G or T,
/// each a power of 1024, written alone or with B or iB (`4G`, `1.5G`, `512M`, `4GiB`, `4096`).
public enum ByteSizeText {
    /// What the grammar accepts, for error messages and `--help`.
    public static let forms = "a size such as 4G, 1.5G, 512M, 4GiB or 4096 (bytes; K, M, G, T are powers of 1024)"

    private static let scales: [(suffixes: [String], scale: Int64)] = [
        (["k", "kb", "kib"], 1 << 10), (["m", "mb", "mib"], 1 << 20), (["g", "gb", "gib"], 1 << 30), (["t", "tb", "tib"], 1 << 40),
        (["", "b"], 1),
    ]

    /// The byte count `text` spells, or nil. Never negative; at most 2⁶² bytes.
    public static func parse(_ text: String) -> Int64? {
        let lowered = text.lowercased()
        let number = lowered.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = lowered.dropFirst(number.count)
        guard !number.isEmpty, let value = Double(number), value.isFinite,
              let scale = scales.first(where: { $0.suffixes.contains(String(unit)) })?.scale else { return nil }
        let bytes = value * Double(scale)
        // A fraction of a byte is a typo, not a size.
        guard bytes <= Double(1 << 62), scale > 1 || bytes == bytes.rounded(.down) else { return nil }
        return Int64(bytes.rounded(.down))
    }

    /// `4G`, `512M`, `1536K`, `1000`: the largest unit that spells `bytes` exactly.
    public static func format(_ bytes: Int64) -> String {
        for (suffixes, scale) in scales.dropLast().reversed() where bytes >= scale && bytes % scale == 0 {
            return "\(bytes / scale)\(suffixes[0].uppercased())"
        }
        return "\(bytes)"
    }
}
