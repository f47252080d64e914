#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a file is, told by its first bytes (its magic number), whatever it is called: the archive
/// format to unpack it as, or the name of what it is when it is something else.
///
/// This is how a package whose name and media type say nothing is told apart: an archive pkgfetch
/// reads is unpacked; an archive or compressed stream it does not read is named in an error (exit 60);
/// anything else (a bare executable, a script, a document) is no archive and is placed as it is.
package struct ContentSignature: Sendable, Equatable {
    /// What the bytes are, e.g. "a 7-Zip archive", "gzip data", "an ELF executable".
    package let name: String
    /// The format an unpacker is registered under for this content: "tar.gz" for gzip data (libarchive
    /// reads the tar or zip inside), "7z" for a 7-Zip archive, which no built-in unpacker handles.
    /// Nil for content that is no archive at all.
    package let format: ArchiveFormat?

    /// How many leading bytes `identify` looks at: enough for an ISO 9660 volume descriptor.
    package static let bytesNeeded = 0x8006

    /// The format of the file at `path` by its first `bytesNeeded` bytes; nil when none is known.
    package static func identify(fileAt path: String) -> ContentSignature? {
        identify(leadingBytes(ofFileAt: path))
    }

    /// The first `bytesNeeded` bytes of a file (fewer when it is shorter; none when it cannot be read).
    package static func leadingBytes(ofFileAt path: String) -> [UInt8] {
        readSmallFile(path, limit: bytesNeeded) ?? []
    }

    /// The format of a file that starts with `bytes`; nil when none is known.
    package static func identify(_ bytes: [UInt8]) -> ContentSignature? {
        if let known = magic.first(where: { matches(bytes, $0.at, $0.prefix) }) {
            return ContentSignature(name: known.name, format: known.format.map(ArchiveFormat.init))
        }
        if isBzip2(bytes) { return ContentSignature(name: "bzip2 data", format: .tarBzip2) }
        if isTarHeader(bytes) { return ContentSignature(name: "a tar archive", format: .tar) }
        if isCpioBinary(bytes) { return ContentSignature(name: "a cpio archive", format: ArchiveFormat("cpio")) }
        return nil
    }

    private static func matches(_ bytes: [UInt8], _ offset: Int, _ prefix: [UInt8]) -> Bool {
        bytes.count >= offset + prefix.count && bytes[offset..<offset + prefix.count].elementsEqual(prefix)
    }

    /// (offset, bytes, what it is, the format to unpack it as). Compressed streams name the tar format
    /// they usually carry; the unpacker says so when they hold something else.
    private static let magic: [(at: Int, prefix: [UInt8], name: String, format: String?)] = [
        (0, Array("PK\u{3}\u{4}".utf8), "a zip archive", "zip"),
        (0, Array("PK\u{5}\u{6}".utf8), "an empty zip archive", "zip"),
        (0, Array("PK\u{7}\u{8}".utf8), "a zip archive", "zip"),
        (0, [0x1F, 0x8B], "gzip data", "tar.gz"),
        (0, [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], "xz data", "tar.xz"),
        (0, [0x28, 0xB5, 0x2F, 0xFD], "zstd data", "tar.zst"),
        // Known, and not unpacked by pkgfetch.
        (0, [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C], "a 7-Zip archive", "7z"),
        (0, Array("Rar!\u{1A}\u{7}".utf8), "a RAR archive", "rar"),
        (0, Array("!<arch>\ndebian-binary".utf8), "a Debian package (an ar archive)", "deb"),
        (0, Array("!<arch>\n".utf8), "an ar archive", "ar"),
        (0, Array("070701".utf8), "a cpio archive", "cpio"),
        (0, Array("070702".utf8), "a cpio archive", "cpio"),
        (0, Array("070707".utf8), "a cpio archive", "cpio"),
        (0, [0xED, 0xAB, 0xEE, 0xDB], "an RPM package", "rpm"),
        (0, Array("xar!".utf8), "a xar archive", "xar"),
        (0, Array("MSCF".utf8), "a Microsoft cabinet", "cab"),
        (0, [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], "a Compound File (an MSI installer or Office document)", "msi"),
        (0, Array("hsqs".utf8), "a squashfs image", "squashfs"),
        (0x8001, Array("CD001".utf8), "an ISO 9660 image", "iso"),
        (0, [0x04, 0x22, 0x4D, 0x18], "lz4 data", "lz4"),
        (0, Array("LZIP".utf8), "lzip data", "lzip"),
        (0, [0x1F, 0x9D], "compress (.Z) data", "compress"),
        // No archive at all.
        (0, [0x7F, 0x45, 0x4C, 0x46], "an ELF executable", nil),
        (0, Array("MZ".utf8), "a Windows executable", nil),
        (0, Array("#!".utf8), "a script", nil),
        (0, Array("%PDF".utf8), "a PDF document", nil),
        (0, [0x89, 0x50, 0x4E, 0x47], "a PNG image", nil),
    ]

    /// `BZh`, a block size digit, and the magic of a first block or of the end of an empty stream.
    private static func isBzip2(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 10, bytes.starts(with: Array("BZh".utf8)), (0x31...0x39).contains(bytes[3]) else { return false }
        let next = Array(bytes[4..<10])
        return next == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59] || next == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]
    }

    /// A POSIX or GNU tar header (`ustar` at 257), or an old V7 one, recognised by its checksum.
    private static func isTarHeader(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 512 else { return false }
        if matches(bytes, 257, Array("ustar".utf8)) { return true }
        let field = bytes[148..<156].filter { (0x30...0x37).contains($0) }
        guard !field.isEmpty, bytes[0] != 0 else { return false }
        let stored = field.reduce(0) { $0 * 8 + Int($1 - 0x30) }
        let sum = bytes[0..<512].enumerated().reduce(0) { $0 + ((148..<156).contains($1.offset) ? 0x20 : Int($1.element)) }
        return stored == sum
    }

    /// The old binary cpio header, 0o070707 as a 16-bit word in either byte order.
    private static func isCpioBinary(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 26 && ((bytes[0] == 0xC7 && bytes[1] == 0x71) || (bytes[0] == 0x71 && bytes[1] == 0xC7))
    }
}
