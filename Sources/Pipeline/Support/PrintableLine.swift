/// Text from outside (a URL from a batch list, a server's header or manifest field, an archive's entry
/// name) can carry line breaks, terminal escapes and bidirectional overrides: bytes that are not what
/// they print as. A message shows each such character as a `\u{…}` escape, so it stays one line that
/// reads as what it is.
package enum PrintableLine {
    /// `text` on one line, with control and invisible characters written as escapes.
    package static func escaping(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var line = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) {
                line.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                line.append(scalar)
            }
        }
        return String(line)
    }

    /// Control characters (C0, DEL, C1), line and paragraph separators, and the bidirectional
    /// embeddings, overrides and isolates that reorder what follows them.
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: true
        default: false
        }
    }
}
