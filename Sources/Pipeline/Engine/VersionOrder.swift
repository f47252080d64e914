/// Orders version strings as `sort -V` does (GNU coreutils' `filevercmp`), so a list sorted here is the
/// list the node scripts got from `… | sort -V`: digit runs compare as numbers (`v1.9` < `v1.10`),
/// letters before other characters, `~` before everything, even the end (`1.0~rc1` < `1.0`); a
/// suffix such as `-rc1` or `-2` sorts after the bare version (`1.0` < `1.0-1` < `1.0-rc1`), a file
/// extension (`.tar.gz`) is compared last, and equal versions fall back to their bytes.
/// Works on bytes: any string is ordered, none can trap.
package enum VersionOrder {
    /// `a` sorts before `b`.
    package static func precedes(_ a: String, _ b: String) -> Bool { compare(a, b) < 0 }

    /// `sort -V`'s order: negative, zero (same bytes) or positive.
    package static func compare(_ a: String, _ b: String) -> Int {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        let result = filevercmp(x, y)
        if result != 0 { return result }
        // sort's last resort: the bytes.
        return x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
    }

    /// gnulib's `filevercmp`.
    static func filevercmp(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.isEmpty ? 0 : -1 }
        if b.isEmpty { return 1 }
        let dot = UInt8(ascii: ".")
        // "." first, then "..", then other names starting with ".", then the rest.
        if a[0] == dot || b[0] == dot {
            if a[0] != dot { return 1 }
            if b[0] != dot { return -1 }
            let (aDot, bDot) = (a == [dot], b == [dot])
            if aDot || bDot { return aDot == bDot ? 0 : (aDot ? -1 : 1) }
            let (aDots, bDots) = (a == [dot, dot], b == [dot, dot])
            if aDots || bDots { return aDots == bDots ? 0 : (aDots ? -1 : 1) }
        }
        let (aPrefix, bPrefix) = (prefixLength(a), prefixLength(b))
        let result = verrevcmp(a[..<aPrefix], b[..<bPrefix])
        if result != 0 || (aPrefix == a.count && bPrefix == b.count) { return result }
        return verrevcmp(a[...], b[...])
    }

    /// The length of `name` without its suffix `(\.[A-Za-z~][A-Za-z0-9~]*)*$`.
    static func prefixLength(_ name: [UInt8]) -> Int {
        var prefix = 0
        var index = 0
        while index < name.count {
            index += 1
            prefix = index
            while index + 1 < name.count, name[index] == UInt8(ascii: "."), isAlpha(name[index + 1]) || name[index + 1] == UInt8(ascii: "~") {
                index += 2
                while index < name.count, isAlpha(name[index]) || isDigit(name[index]) || name[index] == UInt8(ascii: "~") { index += 1 }
            }
        }
        return prefix
    }

    /// Debian's version comparison: non-digit runs by `order`, digit runs as numbers.
    static func verrevcmp(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        var (i, j) = (a.startIndex, b.startIndex)
        while i < a.endIndex || j < b.endIndex {
            var firstDifference = 0
            while (i < a.endIndex && !isDigit(a[i])) || (j < b.endIndex && !isDigit(b[j])) {
                let (x, y) = (order(a, i), order(b, j))
                if x != y { return x - y }
                i += 1
                j += 1
            }
            while i < a.endIndex, a[i] == UInt8(ascii: "0") { i += 1 }
            while j < b.endIndex, b[j] == UInt8(ascii: "0") { j += 1 }
            while i < a.endIndex, j < b.endIndex, isDigit(a[i]), isDigit(b[j]) {
                if firstDifference == 0 { firstDifference = Int(a[i]) - Int(b[j]) }
                i += 1
                j += 1
            }
            if i < a.endIndex, isDigit(a[i]) { return 1 }
            if j < b.endIndex, isDigit(b[j]) { return -1 }
            if firstDifference != 0 { return firstDifference }
        }
        return 0
    }

    /// A character's weight among non-digits: the end of the string -1, `~` -2, digits 0, letters
    /// themselves, anything else after every letter.
    private static func order(_ text: ArraySlice<UInt8>, _ index: Int) -> Int {
        guard index < text.endIndex else { return -1 }
        let c = text[index]
        if isDigit(c) { return 0 }
        if isAlpha(c) { return Int(c) }
        if c == UInt8(ascii: "~") { return -2 }
        return Int(c) + 256
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
}
