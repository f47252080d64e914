/// A zip's central directory, parsed from the bytes of the complete file: what `unzip` and a seekable
/// reader take the archive to hold. Each record's local header is read too, and must carry the same name.
///
/// Parsed on bytes with limits checked before anything is kept: the record count against the entries
/// the local headers made, the directory's size against `maximumBytes`. Zip64 and multi-disk archives are
/// `unsupported` (the caller unpacks them from the file instead), anything malformed is `malformed`.
struct ZipCentralDirectory {
    /// One central-directory record, with the fields the check compares.
    struct Record {
        let name: [UInt8]
        let localHeaderOffset: Int64
        let compressedSize: Int64
        let uncompressedSize: Int64
        let crc32: UInt32
        let flags: UInt16
        /// The high byte of "version made by": 0 MS-DOS, 3 Unix, …; it says how to read the attributes.
        let system: UInt8
        let externalAttributes: UInt32
    }

    enum Failure: Error {
        /// Something this parser does not read (zip64, several disks, a huge directory).
        case unsupported(String)
        /// The directory or a local header it points at is damaged or contradicts itself.
        case malformed(String)
    }

    /// Central directories larger than this are left to the unpack from the file.
    static let maximumBytes = 64 << 20

    let records: [Record]

    /// Parses the directory of a file of `size` bytes that `read(offset, count)` reads (exactly `count`
    /// bytes, fewer only past the end).
    init(size: Int64, maximumEntries: Int, read: (Int64, Int) throws -> [UInt8]) throws {
        let tailLength = Int(min(size, 22 + 0xFFFF))
        let tail = try read(size - Int64(tailLength), tailLength)
        guard tail.count == tailLength else { throw Failure.malformed("the file is shorter than its size") }
        // The end record is the last signature whose comment fits in the file, as libarchive's seekable
        // reader finds it (bsdtar pads what it writes to a pipe with zeros to a whole block).
        var endAt: Int?
        var index = tailLength - 22
        while index >= 0 {
            if Self.isSignature(tail, index, 5, 6), index + 22 + Int(Self.u16(tail, index + 20)) <= tailLength {
                endAt = index
                break
            }
            index -= 1
        }
        guard let end = endAt else { throw Failure.malformed("no end of central directory record") }
        if end >= 20, Self.isSignature(tail, end - 20, 6, 7) { throw Failure.unsupported("a zip64 archive") }
        let disk = Self.u16(tail, end + 4), directoryDisk = Self.u16(tail, end + 6)
        let entriesHere = Self.u16(tail, end + 8), entries = Self.u16(tail, end + 10)
        let directorySize = Int64(Self.u32(tail, end + 12)), directoryOffset = Int64(Self.u32(tail, end + 16))
        guard disk == 0, directoryDisk == 0, entriesHere == entries else { throw Failure.unsupported("an archive on several disks") }
        guard entries != 0xFFFF, directorySize != 0xFFFF_FFFF, directoryOffset != 0xFFFF_FFFF else {
            throw Failure.unsupported("a zip64 archive")
        }
        guard Int(entries) <= maximumEntries else {
            throw Failure.malformed("the central directory lists \(entries) entries, more than the \(maximumEntries) local headers")
        }
        let endOffset = size - Int64(tailLength) + Int64(end)
        guard directoryOffset + directorySize == endOffset else {
            throw Failure.malformed("the central directory does not end where the end record begins")
        }
        guard directorySize <= Self.maximumBytes else { throw Failure.unsupported("a central directory of \(directorySize) bytes") }
        let directory = try read(directoryOffset, Int(directorySize))
        guard directory.count == Int(directorySize) else { throw Failure.malformed("the central directory is cut short") }

        var records: [Record] = []
        records.reserveCapacity(Int(entries))
        var at = 0
        while records.count < Int(entries) {
            guard at + 46 <= directory.count, Self.isSignature(directory, at, 1, 2) else {
                throw Failure.malformed("central directory record \(records.count + 1) is damaged")
            }
            let nameLength = Int(Self.u16(directory, at + 28))
            let recordLength = 46 + nameLength + Int(Self.u16(directory, at + 30)) + Int(Self.u16(directory, at + 32))
            guard at + recordLength <= directory.count else {
                throw Failure.malformed("central directory record \(records.count + 1) runs past the directory")
            }
            let compressed = Self.u32(directory, at + 20), uncompressed = Self.u32(directory, at + 24)
            let offset = Self.u32(directory, at + 42)
            guard compressed != 0xFFFF_FFFF, uncompressed != 0xFFFF_FFFF, offset != 0xFFFF_FFFF else {
                throw Failure.unsupported("a zip64 entry")
            }
            records.append(Record(name: Array(directory[(at + 46)..<(at + 46 + nameLength)]),
                                  localHeaderOffset: Int64(offset), compressedSize: Int64(compressed),
                                  uncompressedSize: Int64(uncompressed), crc32: Self.u32(directory, at + 16),
                                  flags: Self.u16(directory, at + 8), system: directory[at + 5],
                                  externalAttributes: Self.u32(directory, at + 38)))
            at += recordLength
        }
        guard at == directory.count else { throw Failure.malformed("the central directory holds more than its \(entries) records") }
        for record in records {
            try Self.checkLocalHeader(of: record, before: directoryOffset, read: read)
        }
        self.records = records
    }

    /// The local header a record points at: there, before the directory, with the record's name, and,
    /// when the header carries them (no data descriptor, flag bit 3), the record's CRC and sizes.
    private static func checkLocalHeader(of record: Record, before directoryOffset: Int64,
                                         read: (Int64, Int) throws -> [UInt8]) throws {
        let headerEnd = record.localHeaderOffset + 30 + Int64(record.name.count)
        guard headerEnd <= directoryOffset else { throw Failure.malformed("an entry's local header lies past the central directory") }
        let header = try read(record.localHeaderOffset, 30 + record.name.count)
        guard header.count == 30 + record.name.count, isSignature(header, 0, 3, 4) else {
            throw Failure.malformed("an entry's local header is missing")
        }
        guard Int(u16(header, 26)) == record.name.count, header[30...].elementsEqual(record.name) else {
            throw Failure.malformed("the local header at offset \(record.localHeaderOffset) names another entry than the central directory")
        }
        if u16(header, 6) & 0x8 == 0 {
            guard u32(header, 14) == record.crc32, Int64(u32(header, 18)) == record.compressedSize,
                  Int64(u32(header, 22)) == record.uncompressedSize else {
                throw Failure.malformed("the local header at offset \(record.localHeaderOffset) gives another CRC or size than the central directory")
            }
        }
    }

    private static func isSignature(_ bytes: [UInt8], _ at: Int, _ third: UInt8, _ fourth: UInt8) -> Bool {
        at >= 0 && at + 4 <= bytes.count && bytes[at] == 0x50 && bytes[at + 1] == 0x4B && bytes[at + 2] == third && bytes[at + 3] == fourth
    }

    private static func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 {
        UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    private static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
}
