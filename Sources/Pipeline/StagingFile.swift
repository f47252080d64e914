import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file being fetched, written through a buffer while its SHA-256 is computed from the same bytes,
/// so the content is never read twice. It keeps what earlier attempts wrote, so a fetcher can resume.
public final class StagingFile: @unchecked Sendable {
    public let path: String
    private let descriptor: Int32
    private var hasher = SHA256()
    private var buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    public private(set) var byteCount: Int64 = 0

    static let bufferSize = 1 << 20

    /// Creates (or truncates) the file at `path`, readable by its owner and group only until installed.
    public init(path: String) throws {
        self.path = path
        descriptor = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw PkgfetchError(.destinationIO, "cannot create staging file \(path): \(String(cString: strerror(errno)))")
        }
        buffer = .allocate(byteCount: Self.bufferSize, alignment: 4096)
    }

    deinit {
        close(descriptor)
        buffer.deallocate()
    }

    /// Appends bytes and feeds them to the hash.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        hasher.update(bufferPointer: bytes)
        byteCount += Int64(bytes.count)
        if buffered + bytes.count > buffer.count { try flush() }
        if bytes.count >= buffer.count {
            try writeAll(bytes)
        } else {
            UnsafeMutableRawBufferPointer(rebasing: buffer[buffered..<(buffered + bytes.count)]).copyMemory(from: bytes)
            buffered += bytes.count
        }
    }

    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Drops everything written so far: the next byte written is byte 0 again.
    public func reset() throws {
        buffered = 0
        guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw PkgfetchError(.destinationIO, "cannot truncate staging file \(path): \(String(cString: strerror(errno)))")
        }
        hasher = SHA256()
        byteCount = 0
    }

    /// Writes out the buffer and returns the content's digest and size so far.
    public func finish() throws -> (digest: SHA256Digest, size: Int64) {
        try flush()
        return (SHA256Digest(hasher.finalize()), byteCount)
    }

    /// Flushes and forces the content to disk, so a rename after it cannot expose an empty file after a crash.
    public func sync() throws {
        try flush()
        guard fsync(descriptor) == 0 else {
            throw PkgfetchError(.destinationIO, "cannot sync \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func flush() throws {
        guard buffered > 0 else { return }
        try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<buffered]))
        buffered = 0
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw PkgfetchError(.destinationIO, "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }
}
