#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The bytes of a `FetchedStream`, in one of the shapes a source delivers them: written by the
/// fetcher into a sink (a transfer engine's callbacks), an async sequence of chunks, or a file
/// descriptor to read to its end (a local file, a pipe from a helper process). The runner consumes
/// the body exactly once, or cancels it.
public struct FetchedBody: Sendable {
    enum Delivery: Sendable {
        case writer(@Sendable (any ByteSink) async throws -> Void)
        case descriptor(OwnedDescriptor)
    }

    let delivery: Delivery
    private let onCancel: @Sendable () -> Void

    private init(_ delivery: Delivery, onCancel: @escaping @Sendable () -> Void) {
        self.delivery = delivery
        self.onCancel = onCancel
    }

    /// Bytes the fetcher writes into `sink` itself, from any thread, one write at a time and in order;
    /// `deliver` returns when the last byte is written. A write throws once the runner stops wanting
    /// bytes (a limit, the deadline): let that error end the delivery. `onCancel` releases what the
    /// body holds when the runner does not read it, or gives up on it at the deadline.
    public static func writer(onCancel: @escaping @Sendable () -> Void = {},
                              _ deliver: @escaping @Sendable (any ByteSink) async throws -> Void) -> FetchedBody {
        FetchedBody(.writer(deliver), onCancel: onCancel)
    }

    /// Every chunk of `chunks`, in order.
    public static func chunks<Chunks: AsyncSequence & Sendable>(_ chunks: Chunks) -> FetchedBody
    where Chunks.Element: ContiguousBytes {
        .writer { sink in
            for try await chunk in chunks { try sink.write(chunk) }
        }
    }

    /// The bytes `data` holds.
    public static func bytes(_ data: Data) -> FetchedBody {
        .writer { sink in try sink.write(data) }
    }

    /// Everything readable from `descriptor` (a regular file read from its current position, a pipe, a
    /// socket), read by the runner on its blocking-I/O threads; the runner closes it. A regular file
    /// about to be unpacked may be lent to the unpacker instead of copied (`name` is for messages).
    /// When the runner gives up on the body, a socket is shut down (which ends a read waiting on it)
    /// and `onCancel` runs (e.g. to stop the process writing a pipe).
    public static func descriptor(_ descriptor: Int32, name: String, onCancel: @escaping @Sendable () -> Void = {}) -> FetchedBody {
        let owned = OwnedDescriptor(descriptor, name: name)
        return FetchedBody(.descriptor(owned)) {
            owned.interrupt()
            onCancel()
        }
    }

    /// Delivers every byte into `sink` (a descriptor is read on a blocking-I/O thread, then closed).
    /// For code that passes a body on, such as a wrapper around another fetcher; the runner reads bodies itself.
    public func deliver(into sink: any ByteSink) async throws {
        switch delivery {
        case .writer(let write):
            try await write(sink)
        case .descriptor(let owned):
            try await BlockingIO.shared.run {
                defer { owned.close() }
                try FetchedBody.readAll(owned.descriptor, name: owned.name, into: sink)
            }
        }
    }

    /// Reads `descriptor` to its end into `sink`, in blocks of 1 MiB.
    static func readAll(_ descriptor: Int32, name: String, into sink: any ByteSink) throws {
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { block.deallocate() }
        while true {
            let count = read(descriptor, block.baseAddress, block.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw PkgfetchError(.unavailable, "cannot read \(name): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return }
            try sink.write(UnsafeRawBufferPointer(rebasing: block[0..<count]))
        }
    }

    /// Tells the body's owner the runner stops reading it (or never will): release what it holds.
    public func cancel() {
        onCancel()
    }

    /// Closes what the runner owns of a body it will not read.
    func discard() {
        cancel()
        if case .descriptor(let owned) = delivery { owned.close() }
    }
}

/// A descriptor a body owns: closed once, by whoever is done with it; until then `interrupt` may shut
/// it down (a socket: a read waiting on it returns) without racing a close that frees its number.
final class OwnedDescriptor: @unchecked Sendable {
    /// The descriptor, open until `close()`.
    let descriptor: Int32
    /// What it is, for messages.
    let name: String
    private let lock = Lock()
    private var open = true

    init(_ descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.name = name
    }

    func interrupt() {
        lock.withLock { if open { _ = shutdown(descriptor, Int32(SHUT_RDWR)) } }
    }

    func close() {
        lock.withLock {
            if open { _ = Glibc.close(descriptor) }
            open = false
        }
    }
}
