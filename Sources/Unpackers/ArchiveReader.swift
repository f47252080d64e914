import CArchive

/// libarchive's streaming reader over one file, limited to what node packages use: zip and tar
/// (ustar, pax, GNU), compressed with gzip, xz, zstd or not at all. Fewer parsers, less attack surface;
/// the format is found by content whatever the file is called.
final class ArchiveReader {
    /// A failure libarchive reported, with its message, and the compression it had recognised.
    struct Failure: Error {
        let message: String
        let filters: [String]
    }

    private let handle: OpaquePointer
    private var entry: OpaquePointer?

    init(path: String) throws {
        guard let handle = archive_read_new() else {
            throw Failure(message: "libarchive could not allocate a reader", filters: [])
        }
        archive_read_support_format_zip(handle)
        archive_read_support_format_tar(handle)
        archive_read_support_filter_gzip(handle)
        archive_read_support_filter_xz(handle)
        archive_read_support_filter_zstd(handle)
        // One megabyte per read: few system calls, and still streaming.
        guard archive_read_open_filename(handle, path, 1 << 20) == ARCHIVE_OK else {
            let failure = Self.failure(of: handle)
            archive_read_free(handle)
            throw failure
        }
        self.handle = handle
    }

    deinit { archive_read_free(handle) }

    /// The next entry's header, or nil at the end of the archive.
    func nextEntry() throws -> ArchiveEntry? {
        let status = archive_read_next_header(handle, &entry)
        if status == ARCHIVE_EOF { return nil }
        // A warning (e.g. a malformed pax attribute) leaves a usable header; anything worse does not.
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else { throw failure() }
        let isZip = archive_format(handle) & ARCHIVE_FORMAT_BASE_MASK == ARCHIVE_FORMAT_ZIP
        guard let header = ArchiveEntry(entry, legacyNames: isZip ? .cp437 : .latin1) else {
            throw Failure(message: "an entry's name cannot be read", filters: filterNames)
        }
        return header
    }

    /// The current entry's next block of data and where it goes in the file, or nil at the end of the
    /// entry. The bytes stay valid until the next call. A warning here (wrong size, bad CRC) means the
    /// data is damaged, so it fails.
    func nextBlock() throws -> (bytes: UnsafeRawBufferPointer, offset: Int64)? {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: Int64 = 0
        let status = archive_read_data_block(handle, &buffer, &size, &offset)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK else { throw failure() }
        return (UnsafeRawBufferPointer(start: buffer, count: size), offset)
    }

    /// The format of the entry read last, e.g. "ZIP 2.0 (deflation)" or "POSIX pax interchange format".
    var formatName: String? {
        archive_format_name(handle).map { String(cString: $0) }
    }

    /// The compression filters recognised, outermost first, without the final "none".
    var filterNames: [String] { Self.filterNames(of: handle) }

    private static func filterNames(of handle: OpaquePointer) -> [String] {
        (0..<max(0, archive_filter_count(handle))).compactMap { index in
            archive_filter_name(handle, index).map { String(cString: $0) }
        }.filter { $0 != "none" }
    }

    private func failure() -> Failure { Self.failure(of: handle) }

    private static func failure(of handle: OpaquePointer) -> Failure {
        let message = archive_error_string(handle).map { String(cString: $0) } ?? "libarchive failed without a message"
        return Failure(message: message, filters: filterNames(of: handle))
    }
}
