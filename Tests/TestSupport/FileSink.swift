import Crypto
import Foundation
import Pipeline

/// A `ByteSink` that writes to a file and hashes as it goes: for tests that read a fetcher's stream
/// directly, without a runner.
public final class FileSink: ByteSink, @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()
    private var hasher = SHA256()
    private var count: Int64 = 0

    /// Creates (or truncates) the file at `path`.
    public init(path: String) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw TestSupportError("cannot write \(path)") }
        self.handle = handle
    }

    deinit { try? handle.close() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try lock.withLock {
            hasher.update(bufferPointer: bytes)
            try handle.write(contentsOf: Data(bytes))
            count += Int64(bytes.count)
        }
    }

    /// The digest and size of what was written.
    public func finish() -> (digest: Pipeline.SHA256Digest, size: Int64) {
        lock.withLock { (Pipeline.SHA256Digest(hasher.finalize()), count) }
    }
}
