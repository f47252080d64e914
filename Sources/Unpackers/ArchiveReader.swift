import CArchive
import Pipeline

/// libarchive's streaming reader over one file, limited to what node packages use: zip and tar
/// (ustar, pax, GNU), compressed once with gzip, bzip2, xz or zstd, or not at all. Fewer parsers, less
/// attack surface; the format is found by content whatever the file is called.
///
/// The compression is chosen here from the file's first bytes, and exactly that one filter is put in
/// front of the format readers, with libarchive's own filter bidding turned off: left to bid,
/// libarchive stacks a filter for every layer it recognises, up to 25, so a gzip of a gzip of … (or a
/// gzip quine, which decompresses to itself) costs a decompressor per layer. A node package has at most
/// one compression layer; a second one is "not an archive" (60).
final class ArchiveReader {
    /// A failure libarchive reported, with its message, and the compression it was reading through.
    struct Failure: Error {
        let message: String
        let filters: [String]
    }

    /// The one compression layer read.
    enum Compression: String {
        case none, gzip, bzip2, xz, zstd

        init(of leadingBytes: [UInt8]) {
            self = switch ContentSignature.identify(leadingBytes)?.format {
            case .tarGzip?: .gzip
            case .tarBzip2?: .bzip2
            case .tarXz?: .xz
            case .tarZstd?: .zstd
            default: .none
            }
        }

        var filterCode: Int32? {
            switch self {
            case .none: nil
            case .gzip: ARCHIVE_FILTER_GZIP
            case .bzip2: ARCHIVE_FILTER_BZIP2
            case .xz: ARCHIVE_FILTER_XZ
            case .zstd: ARCHIVE_FILTER_ZSTD
            }
        }
    }

    /// libarchive's functions (`LibarchiveLibrary`).
    private let library: pkgfetch_libarchive
    private let handle: OpaquePointer
    private var entry: OpaquePointer?
    /// The content read as it lands, for a streamed unpack; kept alive for libarchive's callback.
    private let landed: LandedSource?

    init(path: String, compression: Compression) throws {
        landed = nil
        let library = try LibarchiveLibrary.functions()
        self.library = library
        handle = try Self.open(library, compression, formats: Self.archiveFormats) {
            // One megabyte per read: few system calls, and still streaming.
            library.read_open_filename($0, path, 1 << 20)
        }
    }

    /// A reader of `content` as it lands: tar, or with `zip` a zip read by its local headers (which the
    /// caller must hold against the central directory, `ZipDirectoryCheck`). A read that has to wait
    /// for the download blocks.
    init(streaming content: LandedContentReader, compression: Compression, zip: Bool = false) throws {
        let library = try LibarchiveLibrary.functions()
        self.library = library
        let source = LandedSource(content)
        landed = source
        do {
            let formats: (pkgfetch_libarchive, OpaquePointer) -> Void = zip
                ? { _ = $0.read_support_format_zip_streamable($1) } : { _ = $0.read_support_format_tar($1) }
            handle = try Self.open(library, compression, formats: formats) {
                library.read_open($0, Unmanaged.passUnretained(source).toOpaque(), nil, { archive, context, buffer in
                    let source = Unmanaged<LandedSource>.fromOpaque(context!).takeUnretainedValue()
                    do {
                        let count = try source.content.read(into: source.buffer)
                        buffer?.pointee = UnsafeRawPointer(source.buffer.baseAddress)
                        return count
                    } catch {
                        source.failure = error
                        pkgfetch_archive_set_error(archive, PkgfetchError.from(error).message)
                        return -1
                    }
                }, nil)
            }
        } catch {
            // A read that stopped because the download started over is not a bad archive.
            throw source.failure ?? error
        }
    }

    private static func archiveFormats(_ library: pkgfetch_libarchive, _ handle: OpaquePointer) {
        _ = library.read_support_format_zip(handle)
        _ = library.read_support_format_tar(handle)
    }

    /// The first `count` bytes inside the compression layer, to say what a compressed file holds when
    /// it holds no archive (libarchive's raw format reads any data as one entry).
    static func decompressedStart(of path: String, _ compression: Compression, count: Int = 512) -> [UInt8] {
        guard let library = try? LibarchiveLibrary.functions(),
              let reader = try? open(library, compression, formats: { _ = $0.read_support_format_raw($1) },
                                     opening: { library.read_open_filename($0, path, 1 << 20) }) else { return [] }
        defer { _ = library.read_free(reader) }
        var entry: OpaquePointer?
        guard library.read_next_header(reader, &entry) == ARCHIVE_OK else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let read = bytes.withUnsafeMutableBytes { library.read_data(reader, $0.baseAddress, count) }
        return Array(bytes.prefix(max(0, read)))
    }

    /// A reader with exactly `compression` in front of `formats`, opened by `opening`.
    private static func open(_ library: pkgfetch_libarchive, _ compression: Compression,
                             formats: (pkgfetch_libarchive, OpaquePointer) -> Void,
                             opening: (OpaquePointer) -> Int32) throws -> OpaquePointer {
        guard let handle = library.read_new() else {
            throw Failure(message: "libarchive could not allocate a reader", filters: [])
        }
        formats(library, handle)
        // Appending a filter turns bidding off; with none appended, no filter is registered to bid.
        if let code = compression.filterCode, library.read_append_filter(handle, code) != ARCHIVE_OK {
            let failure = Self.failure(of: handle, library)
            _ = library.read_free(handle)
            throw failure
        }
        guard opening(handle) == ARCHIVE_OK else {
            let failure = Self.failure(of: handle, library)
            _ = library.read_free(handle)
            throw failure
        }
        return handle
    }

    deinit { _ = library.read_free(handle) }

    /// The next entry's header, or nil at the end of the archive.
    func nextEntry() throws -> ArchiveEntry? {
        let status = library.read_next_header(handle, &entry)
        if status == ARCHIVE_EOF { return nil }
        // A warning (e.g. a malformed pax attribute) leaves a usable header; anything worse does not.
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else { throw failure() }
        let isZip = library.format(handle) & ARCHIVE_FORMAT_BASE_MASK == ARCHIVE_FORMAT_ZIP
        guard let header = ArchiveEntry(entry, library, legacyNames: isZip ? .cp437 : .latin1) else {
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
        let status = library.read_data_block(handle, &buffer, &size, &offset)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK else { throw failure() }
        return (UnsafeRawBufferPointer(start: buffer, count: size), offset)
    }

    /// The format of the entry read last, e.g. "ZIP 2.0 (deflation)" or "POSIX pax interchange format".
    var formatName: String? {
        library.format_name(handle).map { String(cString: $0) }
    }

    /// Where the header of the entry read last starts in the (decompressed) stream.
    var headerPosition: Int64 { library.read_header_position(handle) }

    /// The compression filters in use, without the final "none".
    var filterNames: [String] { Self.filterNames(of: handle, library) }

    /// Bytes the format readers have consumed from the decompressed stream so far: headers, names,
    /// padding and skipped data as well as the entries' data.
    var decompressedBytes: Int64 { library.filter_bytes(handle, 0) }

    private static func filterNames(of handle: OpaquePointer, _ library: pkgfetch_libarchive) -> [String] {
        (0..<max(0, library.filter_count(handle))).compactMap { index in
            library.filter_name(handle, index).map { String(cString: $0) }
        }.filter { $0 != "none" }
    }

    private func failure() -> Failure { Self.failure(of: handle, library) }

    private static func failure(of handle: OpaquePointer, _ library: pkgfetch_libarchive) -> Failure {
        let message = library.error_string(handle).map { UnpackFailure.printable(String(cString: $0)) } ?? "libarchive failed without a message"
        return Failure(message: message, filters: filterNames(of: handle, library))
    }
}

/// The read callback's side of a streamed reader: the content, the buffer libarchive reads from (valid
/// until the next read), and the error that ended the reads.
private final class LandedSource {
    let content: LandedContentReader
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    var failure: (any Error)?

    init(_ content: LandedContentReader) { self.content = content }

    deinit { buffer.deallocate() }
}
