import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Copies a local file (a `file://` URL) into staging, hashing as it goes; or, for an archive about to
/// be unpacked, only hashes it and lends it to the unpacker (no copy). Pre-cached copies go through
/// `CachedCopyFetcher`, which opens them more carefully and then copies the same way.
public struct FileFetcher: Fetcher {
    public init() {}

    public func fetch(_ source: Source, into file: StagingFile, context: FetchContext) async throws -> FetchedContent {
        let path = source.location.hasPrefix("file://") ? String(source.location.dropFirst(7)) : source.location
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw PkgfetchError(.noSource, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(input) }
        try Self.copy(input, describedAs: path, into: file, source: source, context: context)
        return FetchedContent()
    }

    /// Hashes the open file `input` into `file`: lent to it when it may be, copied otherwise.
    static func copy(_ input: Int32, describedAs path: String, into file: StagingFile, source: Source, context: FetchContext) throws {
        try file.reset()
        _ = try file.borrow(input, describedAs: path)
        var info = stat()
        let total: Int64? = fstat(input, &info) == 0 ? Int64(info.st_size) : nil
        context.progress.started(source, totalBytes: total)
        defer { context.progress.finished() }

        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { block.deallocate() }
        while true {
            let count = read(input, block.baseAddress, block.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw PkgfetchError(.noSource, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            try file.write(UnsafeRawBufferPointer(rebasing: block[0..<count]))
            context.progress.advanced(to: file.byteCount)
            if ContinuousClock.now > context.deadline {
                throw PkgfetchError(.networkTimeout, "copying \(path) did not finish before the deadline", retryable: true)
            }
        }
    }
}
