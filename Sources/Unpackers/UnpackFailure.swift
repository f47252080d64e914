import Pipeline

/// The errors this module throws, worded alike: the entry first, quoted so that every byte is visible
/// and the message stays one readable line however long or strange the name is.
enum UnpackFailure {
    /// `unsafe-archive` (61): the archive is refused because of what an entry would do.
    static func unsafe(entry: [UInt8], _ reason: String) -> PkgfetchError {
        PkgfetchError(.unsafeArchive, "entry \(quoted(entry)) refused: \(reason)")
    }

    /// `unpack-failed` (60): the archive cannot be read.
    static func corrupt(_ message: String) -> PkgfetchError {
        PkgfetchError(.unpackFailed, message)
    }

    /// Names longer than this many characters are cut in the middle.
    static let shownCharacters = 120

    /// A name in double quotes. Escaped as `\u{…}`: control and format characters (bidi overrides,
    /// zero-width marks), separators other than the space, a combining mark that does not follow a
    /// letter or digit (it would draw itself onto `/` or `.` and hide it), and bytes that are not UTF-8
    /// (`\x{…}`). Backslashes stay as they are, so that `..\x` reads as it was written. A long name
    /// keeps its start and end around `…[N bytes]…`.
    static func quoted(_ name: [UInt8]) -> String {
        var pieces: [String] = []
        var markCanAttach = false
        var index = 0
        while index < name.count {
            let length = sequenceLength(name[index])
            if index + length <= name.count, let text = String(validating: name[index..<index + length], as: UTF8.self),
               let scalar = text.unicodeScalars.first {
                let (piece, shown) = escaped(scalar, markCanAttach: markCanAttach)
                pieces.append(piece)
                markCanAttach = shown && (scalar.properties.isAlphabetic || scalar.properties.numericType != nil || isMark(scalar))
                index += length
            } else {
                pieces.append("\\x{\(String(name[index], radix: 16))}")
                markCanAttach = false
                index += 1
            }
        }
        if pieces.count > shownCharacters {
            let head = pieces.prefix(shownCharacters * 2 / 3).joined()
            let tail = pieces.suffix(shownCharacters / 3).joined()
            return "\"\(head)…[\(name.count) bytes]…\(tail)\""
        }
        return "\"" + pieces.joined() + "\""
    }

    /// How many bytes the UTF-8 sequence starting with `lead` has (1 for a byte that starts none).
    private static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: 1
        }
    }

    static func quoted(_ text: String) -> String { quoted(Array(text.utf8)) }

    /// Text from elsewhere (libarchive's messages can carry bytes of the archive), escaped and cut like
    /// a name, without the quotes: the message stays one readable line.
    static func printable(_ text: String) -> String { String(quoted(text).dropFirst().dropLast()) }

    private static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        [.nonspacingMark, .spacingMark, .enclosingMark].contains(scalar.properties.generalCategory)
    }

    /// The scalar as shown, and whether it was shown as itself.
    private static func escaped(_ scalar: Unicode.Scalar, markCanAttach: Bool) -> (String, Bool) {
        if scalar == "\"" { return ("\\\"", true) }
        let hidden: Bool
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            hidden = true
        case .spaceSeparator:
            hidden = scalar != " "
        case .nonspacingMark, .spacingMark, .enclosingMark:
            hidden = !markCanAttach
        default:
            hidden = false
        }
        return hidden ? ("\\u{\(String(scalar.value, radix: 16))}", false) : (String(scalar), true)
    }
}
