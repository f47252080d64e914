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

/// A sink that also takes bytes at their place ahead of what was appended (a ranged copy's), and later
/// takes them, in order, as appended.
protocol PlacingSink: ByteSink {
    /// Writes `bytes` at `offset` of the content, ahead of the bytes appended so far.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws
    /// Appends the next `count` bytes, which `write(_:at:)` already placed.
    func takeWritten(_ count: Int) throws
}

/// The runner's sink: its staging file, through the checks every backend needs. A write past the size
/// limit or past the size the source announced throws, and so does every write once the runner has
/// given up on the stream (its deadline passed): from then on nothing the fetcher does reaches the file.
final class ContentSink: PlacingSink, @unchecked Sendable {
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
            try checkLimit(file.byteCount + Int64(bytes.count))
            try file.write(bytes)
            lock.withLock { written += Int64(bytes.count) }
            progress.advanced(to: file.byteCount)
        }
    }

    /// Places `bytes` at `offset`, within the limit, for `takeWritten` to append later.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try gate.pass {
            try checkLimit(offset + Int64(bytes.count))
            try file.write(bytes, at: offset)
            lock.withLock { written += Int64(bytes.count) }
        }
    }

    /// Appends the next `count` bytes, placed earlier (they are hashed now).
    func takeWritten(_ count: Int) throws {
        try gate.pass {
            try file.takeWritten(count)
            progress.advanced(to: file.byteCount)
        }
    }

    /// Throws when the content would reach `end` bytes, past the limit.
    private func checkLimit(_ end: Int64) throws {
        guard let limit, end > limit.bytes else { return }
        throw limit.tooLarge
            ? PkgfetchError(.tooLarge, "\(source.redacted): the package is larger than the size limit of \(limit.bytes) bytes (--max-size)",
                            scheme: source.scheme)
            : PkgfetchError(.integrity, "\(source.redacted): the source sent more than the \(limit.bytes) bytes it announced",
                            scheme: source.scheme)
    }

    /// Bytes written through this sink.
    var count: Int64 { lock.withLock { written } }
}
