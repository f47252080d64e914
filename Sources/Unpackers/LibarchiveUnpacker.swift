import Foundation
import Pipeline

/// The unpacker for every archive format pkgfetch knows, built on libarchive's streaming reader.
///
/// The format is found by content; the plan's format is only a hint, used in messages. Entries are
/// written by this module's own code (not `archive_write_disk`) so that each safety rule is checked in
/// one place: see `ArchiveExtraction` for the rules and `ExtractionDirectory` for the system calls.
public struct LibarchiveUnpacker: Unpacker {
    /// The formats to register this unpacker for.
    public static let formats: [ArchiveFormat] = [.zip, .tarGzip, .tarBzip2, .tarXz, .tarZstd, .tar]

    public init() {}

    /// Runs the extraction on a thread of its own: it blocks on file I/O and decompression for as long
    /// as the archive takes, which would hold one of the few threads of Swift's cooperative pool. The
    /// thread-local locale set for libarchive's name conversion stays on that thread throughout.
    /// Cancelling the task stops the extraction at the next entry or block.
    public func unpack(_ archive: String, format: ArchiveFormat, into directory: String,
                       limits: UnpackLimits) async throws -> UnpackReport {
        let cancellation = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<UnpackReport, any Error>) in
                let worker = Thread {
                    continuation.resume(with: Result {
                        try UTF8Locale.whileActive {
                            let extraction = try ArchiveExtraction(archive: archive, expectedFormat: format, directory: directory,
                                                                   limits: limits, cancellation: cancellation)
                            return try extraction.run()
                        }
                    })
                }
                worker.name = "pkgfetch-unpack"
                worker.start()
            }
        } onCancel: {
            cancellation.cancel()
        }
    }
}

/// Tells a thread outside Swift concurrency that its task was cancelled.
final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    func cancel() {
        lock.withLock { cancelled = true }
    }

    /// Throws `CancellationError` once `cancel()` was called.
    func check() throws {
        if lock.withLock({ cancelled }) { throw CancellationError() }
    }
}
