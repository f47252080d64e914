import Pipeline

/// The errors this module throws, worded alike: the entry first, quoted so that any byte is visible and
/// the message stays one line.
enum UnpackFailure {
    /// `unsafe-archive` (61): the archive is refused because of what an entry would do.
    static func unsafe(entry: String, _ reason: String) -> PkgfetchError {
        PkgfetchError(.unsafeArchive, "entry \(quoted(entry)) refused: \(reason)")
    }

    /// `unpack-failed` (60): the archive cannot be read.
    static func corrupt(_ message: String) -> PkgfetchError {
        PkgfetchError(.unpackFailed, message)
    }

    /// A name in double quotes, control characters escaped; backslashes stay as they are, so that
    /// `..\x` reads as it was written.
    static func quoted(_ name: String) -> String {
        var text = "\""
        for scalar in name.unicodeScalars {
            switch scalar.value {
            case 0x22: text += "\\\""
            case 0..<0x20, 0x7F: text += "\\u{\(String(scalar.value, radix: 16))}"
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }
}
