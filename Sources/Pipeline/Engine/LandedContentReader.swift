#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One generation of a staging file's content, read from byte 0 while it lands (`LandedBytes`): a read
/// waits until bytes past it have been hashed and written, and returns 0 only at the end of the
/// content. When the content is reset meanwhile, reads throw `LandedContentReader.Superseded`: the
/// reader must start over with a new one; when the runner gives up on the content, `Abandoned`.
public final class LandedContentReader: @unchecked Sendable {
    /// The content was reset (the download started over): what was read is not part of it.
    public struct Superseded: Error {}
    /// The runner gave up on the content (the source failed, the run was cancelled).
    public struct Abandoned: Error {}

    /// The generation read.
    public let generation: Int
    /// Bytes read so far.
    public private(set) var offset: Int64 = 0
    private let landed: LandedBytes
    private let path: @Sendable () -> String
    private var descriptor: Int32 = -1

    /// A reader of the current generation of `landed`, whose bytes are in the file `path()` names
    /// once the first of them has landed.
    package init(_ landed: LandedBytes, path: @escaping @Sendable () -> String) {
        self.landed = landed
        self.path = path
        generation = landed.snapshot.generation
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Reads up to `buffer.count` bytes; 0 at the end of the content.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let available = try wait(beyond: offset)
        guard available.count > offset else { return 0 }
        let wanted = Int(min(Int64(buffer.count), available.count - offset))
        let count = try readLanded(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]), at: offset)
        offset += Int64(count)
        return count
    }

    /// Reads up to `buffer.count` bytes at `position`, once they have landed, without moving the reader;
    /// 0 at or past the end of the content. For a format whose index is at the end (a zip's directory).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int {
        let available = try wait(beyond: position)
        guard available.count > position else { return 0 }
        let wanted = Int(min(Int64(buffer.count), available.count - position))
        return try readLanded(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]), at: position)
    }

    /// The content's first `count` bytes (fewer when it is shorter), once they have landed; the reader
    /// stays where it is.
    public func leadingBytes(_ count: Int) throws -> [UInt8] {
        let size = try landedSize(atLeast: Int64(count))
        var bytes = [UInt8](repeating: 0, count: Int(min(Int64(count), size)))
        var filled = 0
        while filled < bytes.count {
            let read = try bytes.withUnsafeMutableBytes {
                try readLanded(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]), at: Int64(filled))
            }
            filled += read
        }
        return bytes
    }

    /// The content's size so far, once at least `needed` bytes have landed, or the whole content's
    /// size when it is shorter: a limit that depends on the archive's size can be checked against
    /// bytes that have arrived, waiting for more rather than refusing early.
    public func landedSize(atLeast needed: Int64) throws -> Int64 {
        var known = try wait(beyond: -1)
        while known.count < needed, !known.complete, !known.sealed {
            known = try wait(beyond: known.count)
        }
        return known.count
    }

    private func wait(beyond position: Int64) throws -> LandedBytes.Snapshot {
        switch landed.wait(beyond: position, of: generation) {
        case .landed(let snapshot): return snapshot
        case .superseded: throw Superseded()
        case .abandoned: throw Abandoned()
        }
    }

    /// `pread` from the landed bytes, which are on disk (or in the page cache) by now.
    private func readLanded(into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int {
        if descriptor < 0 {
            descriptor = open(path(), O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw PkgfetchError(.destinationIO, "cannot read the staged download: \(String(cString: strerror(errno)))")
            }
        }
        while true {
            let count = pread(descriptor, buffer.baseAddress, buffer.count, off_t(position))
            if count > 0 { return count }
            if count < 0, errno == EINTR { continue }
            // Landed bytes that are not in the file: it was truncated under us by a reset.
            if case .superseded = landed.wait(beyond: position, of: generation) { throw Superseded() }
            throw PkgfetchError(.destinationIO, "cannot read the staged download: \(count < 0 ? String(cString: strerror(errno)) : "it is shorter than what was written")")
        }
    }
}
