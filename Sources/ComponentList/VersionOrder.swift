/// Orders version strings as `sort -V` does (Debian's version comparison over the whole string):
/// runs of digits compare as numbers, other characters by byte with letters before the rest and `~`
/// before everything, even the end. `1.9 < 1.10`, `1.34.9-ubuntu22.04u2 < 1.34.10-ubuntu22.04u1`.
public enum VersionOrder {
    public static func areInIncreasingOrder(_ a: String, _ b: String) -> Bool {
        compare(a, b) < 0
    }

    /// Negative, zero or positive as `a` sorts before, with, or after `b`.
    public static func compare(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8), y = Array(b.utf8)
        var i = 0, j = 0
        while i < x.count || j < y.count {
            // The non-digit prefix, character by character.
            while (i < x.count && !isDigit(x[i])) || (j < y.count && !isDigit(y[j])) {
                let (p, q) = (weight(i < x.count ? x[i] : nil), weight(j < y.count ? y[j] : nil))
                if p != q { return p - q }
                i += 1
                j += 1
            }
            while i < x.count && x[i] == UInt8(ascii: "0") { i += 1 }
            while j < y.count && y[j] == UInt8(ascii: "0") { j += 1 }
            // The digit run: the longer is larger; of equal length, the first differing digit decides.
            var firstDifference = 0
            while i < x.count && isDigit(x[i]) && j < y.count && isDigit(y[j]) {
                if firstDifference == 0 { firstDifference = Int(x[i]) - Int(y[j]) }
                i += 1
                j += 1
            }
            if i < x.count && isDigit(x[i]) { return 1 }
            if j < y.count && isDigit(y[j]) { return -1 }
            if firstDifference != 0 { return firstDifference }
        }
        // Equal as versions (`1.02`, `1.2`): by bytes, as sort -V's last resort.
        return x.lexicographicallyPrecedes(y) ? -1 : y.lexicographicallyPrecedes(x) ? 1 : 0
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 97 && (byte | 0x20) <= 122 }

    /// A character's weight in a non-digit run: the end (or a digit) 0, letters themselves, `~` -1,
    /// anything else after every letter.
    private static func weight(_ byte: UInt8?) -> Int {
        guard let byte, !isDigit(byte) else { return 0 }
        if isLetter(byte) { return Int(byte) }
        if byte == UInt8(ascii: "~") { return -1 }
        return Int(byte) + 256
    }
}
