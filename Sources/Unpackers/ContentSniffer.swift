import Pipeline

/// Says what a file libarchive does not recognise looks like, from its first bytes, so that "not an
/// archive" can tell that the server sent an HTML error page, a bare executable, or an archive format
/// pkgfetch does not read.
enum ContentSniffer {
    static func describe(file path: String) -> String {
        describe(ContentSignature.leadingBytes(ofFileAt: path))
    }

    static func describe(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "the file is empty" }
        if let known = ContentSignature.identify(bytes) {
            let unread = known.format.map { LibarchiveUnpacker.formats.contains($0) ? "" : " (not a format pkgfetch reads)" } ?? ""
            return "first bytes look like \(known.name)\(unread) (\(hex(bytes.prefix(8))))"
        }
        let head = bytes.prefix(64)
        let text = head.drop { [0x20, 0x09, 0x0A, 0x0D].contains($0) }
        let printable = head.allSatisfy { (0x20..<0x7F).contains($0) || [0x09, 0x0A, 0x0D].contains($0) || $0 >= 0x80 }
        if printable, let first = text.first {
            let kind = switch first {
            case UInt8(ascii: "<"): "HTML or XML text"
            case UInt8(ascii: "{"), UInt8(ascii: "["): "JSON text"
            default: "text"
            }
            return "first bytes look like \(kind): \(UnpackFailure.quoted(Array(text.prefix(40))))"
        }
        return "first bytes look like binary data (\(hex(bytes.prefix(8))))"
    }

    private static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined(separator: " ")
    }
}
