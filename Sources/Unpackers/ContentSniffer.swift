#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Says what a file libarchive does not recognise looks like, from its first bytes, so that "not an
/// archive" can tell that the server sent an HTML error page or a bare executable.
enum ContentSniffer {
    static func describe(file path: String) -> String {
        let file = open(path, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return "unreadable content" }
        defer { close(file) }
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = bytes.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
        return describe(Array(bytes.prefix(max(0, count))))
    }

    static func describe(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "the file is empty" }
        let magic: [(prefix: [UInt8], name: String)] = [
            ([0x7F, 0x45, 0x4C, 0x46], "an ELF executable"),
            (Array("MZ".utf8), "a Windows executable"),
            (Array("%PDF".utf8), "a PDF document"),
            ([0x89, 0x50, 0x4E, 0x47], "a PNG image"),
            (Array("BZh".utf8), "bzip2 data (not a compression pkgfetch reads)"),
            ([0x37, 0x7A, 0xBC, 0xAF], "a 7-Zip archive (not a format pkgfetch reads)"),
            (Array("Rar!".utf8), "a RAR archive (not a format pkgfetch reads)"),
        ]
        if let known = magic.first(where: { bytes.starts(with: $0.prefix) }) {
            return "first bytes look like \(known.name) (\(hex(bytes.prefix(8))))"
        }
        let text = bytes.drop { [0x20, 0x09, 0x0A, 0x0D].contains($0) }
        let printable = bytes.allSatisfy { (0x20..<0x7F).contains($0) || [0x09, 0x0A, 0x0D].contains($0) || $0 >= 0x80 }
        if printable, let first = text.first {
            let kind = switch first {
            case UInt8(ascii: "<"): "HTML or XML text"
            case UInt8(ascii: "{"), UInt8(ascii: "["): "JSON text"
            default: "text"
            }
            let sample = String(decoding: text.prefix(40), as: UTF8.self)
            return "first bytes look like \(kind): \(UnpackFailure.quoted(sample))"
        }
        return "first bytes look like binary data (\(hex(bytes.prefix(8))))"
    }

    private static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined(separator: " ")
    }
}
