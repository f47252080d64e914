#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The chunks of a `RangedCopy`: which are claimed, how much of each has arrived, and the frontier (the
/// first chunk not yet wholly hashed). Connections claim runs of consecutive chunks (one range request
/// each), in order. Every byte goes to the staging file at once, at its place, and is read back (from
/// the page cache) to be hashed once the frontier reaches it: at once for the frontier chunk, later
/// for bytes ahead of it. Nothing waits in memory;
/// claims stop `waiting` chunks ahead of the frontier, so what is read back stays in the page cache
/// and little of it is left to hash after the last byte arrives.
final class ChunkAssembly: @unchecked Sendable {
    private let lock = Lock()
    private let chunks: Int
    private let chunkSize: Int
    private let lastChunkSize: Int
    /// The offset of chunk 0 in the content.
    private let origin: Int64
    /// The most chunks one claim takes.
    private let claimChunks: Int
    /// Claims share what is left among this many connections at most, so the last ones end together.
    private let spread: Int
    private let waiting: Int
    private let sink: any PlacingSink
    /// The first chunk not yet wholly in the file's hashed prefix, and how many of its bytes are.
    private var frontier = 0
    private var committed = 0
    private var filled: [Int]
    private var done: [Bool]
    private var nextClaim = 0
    private var claimedAhead = 0
    private var waiters: [CheckedContinuation<Range<Int>?, Never>] = []
    private var stopped = false

    /// `chunks` chunks of `chunkSize` bytes (the last `lastChunkSize`), from `origin` on; claims of up
    /// to `claimChunks` chunks, no more than `waiting` chunks claimed ahead of the frontier.
    init(chunks: Int, chunkSize: Int, lastChunkSize: Int, origin: Int64 = 0, claimChunks: Int = 1, spread: Int = 1,
         waiting: Int, sink: any PlacingSink) {
        self.chunks = chunks
        self.chunkSize = chunkSize
        self.lastChunkSize = lastChunkSize
        self.origin = origin
        self.claimChunks = max(1, claimChunks)
        self.spread = max(1, spread)
        self.waiting = max(1, waiting)
        self.sink = sink
        filled = Array(repeating: 0, count: chunks)
        done = Array(repeating: false, count: chunks)
    }

    /// The bytes `chunk` holds when whole.
    func size(of chunk: Int) -> Int { chunk == chunks - 1 ? lastChunkSize : chunkSize }

    /// Bytes of `chunk` received so far.
    func filled(_ chunk: Int) -> Int { lock.withLock { filled[chunk] } }

    /// Whether `chunk` was marked whole.
    func isDone(_ chunk: Int) -> Bool { lock.withLock { done[chunk] } }

    /// Chunks in all.
    var chunkCount: Int { chunks }

    /// Claims waiting for a chunk (for tests: to reach a waiting claim without sleeping).
    var waitingClaims: Int { lock.withLock { waiters.count } }

    /// Whether chunks are left to claim.
    var hasUnclaimed: Bool { lock.withLock { !stopped && nextClaim < chunks } }

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

    /// The next run of chunks to fetch, once fewer than `waiting` are claimed ahead of the frontier;
    /// nil when none is left or the copy stopped.
    func claim() async -> Range<Int>? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Range<Int>?, Never>) in
                let answer = lock.withLock { () -> Range<Int>?? in
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

    /// Under the lock: up to `claimChunks` chunks, fewer near the end so that every connection has a share of what is left.
    private func takeNext() -> Range<Int> {
        let left = chunks - nextClaim
        let count = min(claimChunks, max(1, (left + spread - 1) / spread))
        claimedAhead += count
        nextClaim += count
        return (nextClaim - count)..<nextClaim
    }

    /// Appends bytes to `chunk`, written at their place in the file; at the frontier they join the
    /// hashed prefix at once. The frontier's bytes too are placed and read back rather than appended:
    /// an append waits when the hashing thread is behind (reading back what the other connections
    /// placed), and it would wait here, under the lock, stalling every connection's socket meanwhile.
    /// `appending`: for the first stream while it runs alone, whose bytes are all at the frontier
    /// and stall no one: appended, so hashed without being read back.
    func write(chunk: Int, _ bytes: UnsafeRawBufferPointer, appending: Bool = false) throws {
        guard !bytes.isEmpty else { return }
        try lock.withLock {
            if stopped { throw CancellationError() }
            if appending, chunk == frontier, filled[chunk] == committed {
                try sink.write(bytes)
                filled[chunk] += bytes.count
                committed = filled[chunk]
                return
            }
            try sink.write(bytes, at: origin + Int64(chunk) * Int64(chunkSize) + Int64(filled[chunk]))
            filled[chunk] += bytes.count
            if chunk == frontier {
                try sink.takeWritten(filled[chunk] - committed)
                committed = filled[chunk]
            }
        }
    }

    /// Marks `chunk` whole; the frontier moves over every whole chunk, taking what was placed ahead into the hashed prefix.
    func complete(_ chunk: Int) throws {
        let woken = try lock.withLock { () -> [(CheckedContinuation<Range<Int>?, Never>, Range<Int>?)] in
            done[chunk] = true
            while frontier < chunks {
                if filled[frontier] > committed {
                    try sink.takeWritten(filled[frontier] - committed)
                    committed = filled[frontier]
                }
                guard done[frontier] else { break }
                claimedAhead -= 1
                frontier += 1
                committed = 0
            }
            var woken: [(CheckedContinuation<Range<Int>?, Never>, Range<Int>?)] = []
            while !waiters.isEmpty, claimedAhead < waiting || nextClaim >= chunks {
                woken.append((waiters.removeFirst(), nextClaim < chunks ? takeNext() : nil))
            }
            return woken
        }
        for (waiter, claim) in woken { waiter.resume(returning: claim) }
    }

    /// Ends the copy: waiting claims get nil, writes throw.
    func stop() {
        let woken = lock.withLock { () -> [CheckedContinuation<Range<Int>?, Never>] in
            stopped = true
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in woken { waiter.resume(returning: nil) }
    }

    /// True once every chunk is in the file.
    var isComplete: Bool { lock.withLock { frontier == chunks } }
}
