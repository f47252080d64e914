#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where a body's bytes go. Written from any thread, one write at a time, in order; a write that
/// throws ends the delivery (the runner wants no more bytes).
public protocol ByteSink: Sendable {
    /// Appends `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

extension ByteSink {
    /// Appends the bytes of `data` (`Data`, `[UInt8]`, …).
    public func write(_ data: some ContiguousBytes) throws {
        try data.withUnsafeBytes { try write($0) }
    }
}

/// The runner's sink: its staging file, through the checks every backend needs. A write past the size
/// limit or past the size the source announced throws, and so does every write once the runner has
/// given up on the stream (its deadline passed): from then on nothing the fetcher does reaches the file.
final class ContentSink: ByteSink, @unchecked Sendable {
    private let file: StagingFile
    private let source: Source
    private let progress: any ProgressReporter
    /// The most bytes the file may hold, and why (`--max-size` or the announced size).
    private let limit: (bytes: Int64, tooLarge: Bool)?
    private let gate: AttemptGate
    private let lock = Lock()
    private var written: Int64 = 0

    init(file: StagingFile, gate: AttemptGate, source: Source, progress: any ProgressReporter, sizeLimit: Int64?,
         announcedSize: Int64?) {
        self.file = file
        self.gate = gate
        self.source = source
        self.progress = progress
        switch (sizeLimit, announcedSize) {
        case (let limit?, let size?): self.limit = size <= limit ? (size, false) : (limit, true)
        case (let limit?, nil): self.limit = (limit, true)
        case (nil, let size?): self.limit = (size, false)
        case (nil, nil): self.limit = nil
        }
    }

    /// Appends `bytes` to the content.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try gate.pass {
            if let limit, file.byteCount + Int64(bytes.count) > limit.bytes {
                throw limit.tooLarge
                    ? PkgfetchError(.tooLarge, "\(source.redacted): the package is larger than the size limit of \(limit.bytes) bytes (--max-size)",
                                    scheme: source.scheme)
                    : PkgfetchError(.integrity, "\(source.redacted): the source sent more than the \(limit.bytes) bytes it announced",
                                    scheme: source.scheme)
            }
            try file.write(bytes)
            lock.withLock { written += Int64(bytes.count) }
            progress.advanced(to: file.byteCount)
        }
    }

    /// Bytes written through this sink.
    var count: Int64 { lock.withLock { written } }
}
