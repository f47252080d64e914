#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Opens a local file (a cache hit, or a `file://` URL) for the runner to read; an archive about to be
/// unpacked is lent to the unpacker rather than copied. Only a regular file is read: a FIFO or a device
/// (`/dev/zero`) would block or never end.
package struct FileFetcher: Fetcher {
    /// A fetcher for `file` sources.
    package init() {}

    /// How its failures are numbered and named: a local file that cannot be read is `no-source` (11).
    package static let failures = FailureFamily(codes: .local, notFound: "no-source", unauthorized: "no-source", unavailable: "no-source")

    /// Opens the file, from the offset when it is still the version asked for.
    package func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        let location = request.source.location
        let path = location.hasPrefix("file://") ? String(location.dropFirst(7)) : location
        // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let reason: FailureReason = errno == ENOENT ? .notFound : .rejected
            throw PkgfetchError(reason, "cannot read \(path): \(String(cString: strerror(errno)))", scheme: "file", family: Self.failures)
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw PkgfetchError(.rejected, "cannot read \(path): not a regular file", scheme: "file", family: Self.failures)
        }
        // The file's identity and last change: a file replaced or rewritten is another version.
        let version = "\(info.st_dev):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        let size = Int64(info.st_size)
        let start = request.validator == .token(version) && request.offset <= size ? request.offset : 0
        guard lseek(descriptor, off_t(start), SEEK_SET) == off_t(start) else {
            close(descriptor)
            throw PkgfetchError(.rejected, "cannot read \(path): \(String(cString: strerror(errno)))", scheme: "file", family: Self.failures)
        }
        return FetchedStream(offset: start, size: size, validator: .token(version), body: .descriptor(descriptor, name: path))
    }
}
