/// Where in a JSON file's text a problem is, as `:LINE:COLUMN`, for one-line errors that say where
/// to look: Foundation's decoder names a key path for a field of the wrong type, never a line
/// (a syntax error's place is `JSONSyntaxError`'s).
enum JSONTextPlace {
    /// ":LINE:COLUMN" of byte `offset` (both from 1; the column counts bytes).
    static func lineAndColumn(ofOffset offset: Int, in text: [UInt8]) -> String {
        let before = text.prefix(max(0, min(offset, text.count)))
        let line = before.filter { $0 == UInt8(ascii: "\n") }.count + 1
        let column = before.count - (before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
        return ":\(line):\(column)"
    }

    /// The offset of the first `"key"` followed by `:` at or after `start`; nil when the key is not
    /// written plainly (escaped), so a place is never a guess.
    static func offset(ofKey key: String, in text: [UInt8], from start: Int) -> Int? {
        let quoted = Array("\"\(key)\"".utf8)
        var index = start
        while index + quoted.count <= text.count {
            if text[index..<index + quoted.count].elementsEqual(quoted) {
                var after = index + quoted.count
                while after < text.count, [0x20, 0x09, 0x0a, 0x0d].contains(text[after]) { after += 1 }
                if after < text.count, text[after] == UInt8(ascii: ":") { return index }
            }
            index += 1
        }
        return nil
    }
}
