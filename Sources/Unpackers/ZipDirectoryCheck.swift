#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Pipeline

/// A zip unpacked by its local headers while it downloaded, held against its central directory once
/// the whole file is there: the tree is installed only if both name the same entries.
///
/// Entries are matched by where their local header starts: every record must point at a header the
/// streaming reader read, and every header read must have its record, one each. The record's name must
/// be the header's (`ZipCentralDirectory` compares the bytes), a directory must be one in both, and a
/// file written must have the record's size. The modes, which only the directory holds, are then
/// given as the unpack from the file gives them.
struct ZipDirectoryCheck {
    /// What the streaming reader made of one local header.
    struct StreamedEntry {
        let headerOffset: Int64
        let name: [UInt8]
        let isDirectory: Bool
        /// The bytes written, for a file; nil for a directory or an entry the shaping left out.
        let writtenSize: Int64?
        /// Where it was installed in the tree; nil when the shaping left it out.
        let installedPath: [UInt8]?
    }

    /// The directory holds something the streamed tree cannot show as the unpack from the file would
    /// (a symlink, an attribute system it does not read, zip64): unpack from the file instead.
    struct Unstreamable: Error {
        let reason: String
    }

    /// A mode to give an installed entry, from its central-directory record.
    struct Mode {
        let path: [UInt8]
        let isDirectory: Bool
        let permissions: mode_t
    }

    let streamed: [StreamedEntry]

    /// The modes to give, once `directory` agrees with the streamed entries; refuses (`unsafe-archive`)
    /// when it does not, throws `Unstreamable` for what only the unpack from the file can install.
    func modes(against directory: ZipCentralDirectory) throws -> [Mode] {
        var byOffset: [Int64: Int] = [:]
        for (index, entry) in streamed.enumerated() {
            byOffset[entry.headerOffset] = index
        }
        guard directory.records.count == streamed.count, byOffset.count == streamed.count else {
            throw Self.disagreement("its central directory lists \(directory.records.count) entries, its local headers \(streamed.count)")
        }
        var modes: [Mode] = []
        var matched = Set<Int>()
        for record in directory.records {
            guard let index = byOffset[record.localHeaderOffset], matched.insert(index).inserted else {
                throw Self.disagreement(entry: record.name, "the central directory names it at offset \(record.localHeaderOffset), where no local header was read")
            }
            let entry = streamed[index]
            let type = try Self.type(of: record)
            guard type.isDirectory == entry.isDirectory else {
                throw Self.disagreement(entry: record.name, "the central directory and its local header disagree on whether it is a directory")
            }
            if let written = entry.writtenSize, written != record.uncompressedSize {
                throw Self.disagreement(entry: record.name, "its data is \(written) bytes, the central directory says \(record.uncompressedSize)")
            }
            if let path = entry.installedPath {
                modes.append(Mode(path: path, isDirectory: entry.isDirectory, permissions: type.permissions & 0o755))
            }
        }
        return modes
    }

    /// The type and permissions libarchive's seekable reader gives a record (Unix and MS-DOS attributes;
    /// a name ending in `/` is a directory whatever they say).
    private static func type(of record: ZipCentralDirectory.Record) throws -> (isDirectory: Bool, permissions: mode_t) {
        let namedDirectory = record.name.last == UInt8(ascii: "/")
        switch record.system {
        case 3:
            let mode = mode_t(record.externalAttributes >> 16)
            switch mode & 0o170000 {
            case 0o100000 where !namedDirectory: return (false, mode & 0o7777)
            case 0o040000, 0o100000: return (true, mode & 0o7777)
            default:
                throw Unstreamable(reason: "entry \(UnpackFailure.quoted(record.name)) has Unix type 0o\(String(mode & 0o170000, radix: 8))")
            }
        case 0:
            let readOnly: mode_t = record.externalAttributes & 0x01 != 0 ? 0o555 : 0o7777
            if namedDirectory || record.externalAttributes & 0x10 != 0 { return (true, 0o775 & readOnly) }
            return (false, 0o664 & readOnly)
        default:
            throw Unstreamable(reason: "entry \(UnpackFailure.quoted(record.name)) has attributes of system \(record.system)")
        }
    }

    private static func disagreement(entry: [UInt8], _ reason: String) -> PkgfetchError {
        UnpackFailure.unsafe(entry: entry, "\(reason) (the zip's central directory and local headers disagree)")
    }

    private static func disagreement(_ reason: String) -> PkgfetchError {
        PkgfetchError(.unsafeArchive, "zip refused: \(reason) (the zip's central directory and local headers disagree)")
    }
}
