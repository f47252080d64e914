#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Puts the chunks of a `RangedCopy` back in order. The frontier chunk's bytes go straight to the sink
/// (the staging file, which hashes what it is given, in order); a chunk ahead of the frontier is kept
/// in a buffer of its own until the frontier reaches it. Chunks are handed out in order, and only
/// while fewer than `waiting` are claimed but not yet in the file: that bounds the buffers (and so the
/// memory) whatever the file size, and makes a connection wait rather than run ahead.
final class ChunkAssembly: @unchecked Sendable {
    private let lock = Lock()
    private let chunks: Int
    private let chunkSize: Int
    private let lastChunkSize: Int
    private let waiting: Int
    private let sink: any ByteSink
    /// The first chunk not yet wholly in the file, and how many of its bytes are.
    private var frontier = 0
    private var committed = 0
    private var filled: [Int]
    private var done: [Bool]
    private var buffers: [Int: UnsafeMutableRawBufferPointer] = [:]
    private var spare: [UnsafeMutableRawBufferPointer] = []
    private var nextClaim = 0
    private var claimedAhead = 0
    private var waiters: [CheckedContinuation<Int?, Never>] = []
    private var stopped = false

    init(chunks: Int, chunkSize: Int, lastChunkSize: Int, waiting: Int, sink: any ByteSink) {
        self.chunks = chunks
        self.chunkSize = chunkSize
        self.lastChunkSize = lastChunkSize
        self.waiting = max(1, waiting)
        self.sink = sink
        filled = Array(repeating: 0, count: chunks)
        done = Array(repeating: false, count: chunks)
    }

    deinit {
        for buffer in buffers.values { buffer.deallocate() }
        for buffer in spare { buffer.deallocate() }
    }

    /// The bytes `chunk` holds when whole.
    func size(of chunk: Int) -> Int { chunk == chunks - 1 ? lastChunkSize : chunkSize }

    /// Bytes of `chunk` received so far.
    func filled(_ chunk: Int) -> Int { lock.withLock { filled[chunk] } }

    /// Buffers allocated (for tests: memory stays bounded).
    var buffersAllocated: Int { lock.withLock { buffers.count + spare.count } }

    /// Chunks in all.
    var chunkCount: Int { chunks }

    /// Claims waiting for a chunk (for tests: to reach a waiting claim without sleeping).
    var waitingClaims: Int { lock.withLock { waiters.count } }

    /// Claims the first `count` chunks for the stream already open.
    func claimFirst(_ count: Int = 1) {
        lock.withLock {
            nextClaim = count
            claimedAhead = count
        }
    }

    /// Gives back the claimed chunks from `chunk` on, to be claimed again (before anyone else claims).
    func release(from chunk: Int) {
        lock.withLock {
            guard nextClaim > chunk else { return }
            claimedAhead -= nextClaim - chunk
            nextClaim = chunk
        }
    }

    /// Writes bytes past every claimed chunk straight to the sink: for the first stream once it goes on
    /// alone (nothing else is claimed then). The chunks stay untouched.
    func writeAtFrontier(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        try lock.withLock {
            if stopped { throw CancellationError() }
            try sink.write(bytes)
        }
    }

    /// The next chunk to fetch, once fewer than `waiting` wait; nil when none is left or the copy stopped.
    func claim() async -> Int? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int?, Never>) in
                let answer = lock.withLock { () -> Int?? in
                    if stopped || nextClaim >= chunks { return .some(nil) }
                    if claimedAhead < waiting { return .some(takeNext()) }
                    waiters.append(continuation)
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            stop()
        }
    }

    /// Under the lock.
    private func takeNext() -> Int {
        claimedAhead += 1
        nextClaim += 1
        return nextClaim - 1
    }

    /// Appends bytes to `chunk`: into the file when it is the frontier and nothing of it waits, else
    /// into its buffer.
    func write(chunk: Int, _ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        try lock.withLock {
            if stopped { throw CancellationError() }
            if chunk == frontier, filled[chunk] == committed {
                try sink.write(bytes)
                committed += bytes.count
            } else {
                let buffer = try buffers[chunk] ?? newBuffer(for: chunk)
                UnsafeMutableRawBufferPointer(rebasing: buffer[filled[chunk]..<(filled[chunk] + bytes.count)]).copyMemory(from: bytes)
            }
            filled[chunk] += bytes.count
        }
    }

    /// Under the lock.
    private func newBuffer(for chunk: Int) throws -> UnsafeMutableRawBufferPointer {
        let buffer = spare.popLast() ?? .allocate(byteCount: chunkSize, alignment: 4096)
        buffers[chunk] = buffer
        return buffer
    }

    /// Marks `chunk` whole; every chunk now at the frontier goes into the file.
    func complete(_ chunk: Int) throws {
        let woken = try lock.withLock { () -> [(CheckedContinuation<Int?, Never>, Int?)] in
            done[chunk] = true
            while frontier < chunks {
                if filled[frontier] > committed, let buffer = buffers[frontier] {
                    try sink.write(UnsafeRawBufferPointer(rebasing: buffer[committed..<filled[frontier]]))
                    committed = filled[frontier]
                }
                guard done[frontier] else { break }
                if let buffer = buffers.removeValue(forKey: frontier) { spare.append(buffer) }
                claimedAhead -= 1
                frontier += 1
                committed = 0
            }
            var woken: [(CheckedContinuation<Int?, Never>, Int?)] = []
            while !waiters.isEmpty, claimedAhead < waiting || nextClaim >= chunks {
                woken.append((waiters.removeFirst(), nextClaim < chunks ? takeNext() : nil))
            }
            return woken
        }
        for (waiter, claim) in woken { waiter.resume(returning: claim) }
    }

    /// Ends the copy: waiting claims get nil, writes throw.
    func stop() {
        let woken = lock.withLock { () -> [CheckedContinuation<Int?, Never>] in
            stopped = true
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in woken { waiter.resume(returning: nil) }
    }

    /// True once every chunk is in the file.
    var isComplete: Bool { lock.withLock { frontier == chunks } }
}
