#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// One large source fetched over several connections. The stream already open (the head) delivers
/// the first 16 MiB alone, timed; a fast one goes on alone. Otherwise the copy takes what connections
/// the budget can spare (and, as it goes, any the budget frees later, e.g. when other packages of a
/// batch finish), and each then fetches the next chunks not yet taken, in order, as one bounded range
/// of the same version (`FetchRequest.length` with the validator): `rangeChunks` chunks (16 MiB), fewer
/// near the end so the connections finish together. Every byte goes to the staging file as it
/// arrives, at its place (`ChunkAssembly`): the frontier's bytes are hashed as they are written, bytes
/// ahead are read back from the page cache and hashed once the frontier reaches them. Nothing waits in
/// memory, and claims stop `connections + 1` ranges ahead of the frontier, so what is read back is
/// still cached and the hash never trails far behind the last byte.
/// A segment cut after progress is asked again from where it stopped; an answer that is not the range
/// asked (a 200: the server ignores ranges; a 206 with more bytes than its range) ends the parallel
/// copy so the caller goes on with one stream; an answer of another version ends it so the caller starts over (nothing is spliced).
final class RangedCopy: @unchecked Sendable {
    /// The unit of the copy's bookkeeping: the first stream's probe counts these, and the frontier
    /// (what is hashed) moves a chunk at a time.
    static let chunkSize: Int64 = 2 << 20
    /// Chunks per range request (16 MiB): each request costs a round trip and, through a registry, the
    /// registry's handling of it. Ranges written in place need no memory whatever their size; at 50 MiB/s
    /// a connection, a 512 MiB registry blob took 3.8 s in 2 MiB ranges held in memory and 3.0–3.2 s in
    /// 16 MiB ones written in place, at 10–20 % less CPU than in 4 or 8 MiB ones (README "Capped links").
    static let rangeChunks = 8
    /// Below this the copy stays one stream: the first stream's probe is most of it.
    static let threshold: Int64 = 24 << 20
    /// Chunks the first stream brings alone (16 MiB), timed to tell a capped stream from a fast one
    /// (8 MiB misjudged loopback as capped in one run of four on a loaded machine).
    static let probeChunks = 8
    /// Chunks after which a plainly capped first stream (under half the bar) is cut (4 MiB).
    static let earliestCut = 2
    /// Times one chunk is asked again after a cut that made progress.
    static let maxResumes = 5

    enum Outcome: Sendable {
        /// Every byte is in the file.
        case complete
        /// The source did not serve a range as asked (why): go on with one stream.
        case rangesRefused(String)
        /// The source answered a range with another version (why): start over.
        case sourceChanged(String)
    }

    /// Thrown by the head's sink when the head has delivered its chunks: not a failure.
    fileprivate struct HeadDone: Error {}
    /// Thrown to end the other connections when the outcome is decided.
    private struct Ended: Error { let outcome: Outcome }

    private let source: Source
    private let fetcher: any Fetcher
    private let validator: Validator
    private let size: Int64
    private let start: Int64
    private let gate: AttemptGate
    private let context: FetchContext
    private let assembly: ChunkAssembly
    /// Where connections beyond the head's come from, and how fast a stream must be to go on alone.
    private let budget: ConnectionBudget
    /// Connections beyond the head's taken from the budget (given back by `run`).
    private let extra = Mutex(0)
    /// How the copy ends when a connection found the source refusing ranges or changed: set before
    /// the others are stopped, so whichever error the task group rethrows first, this decides.
    private let decided = Mutex<Outcome?>(nil)

    /// A copy of `source` (`size` bytes, of version `validator`) from `start` on, the head's connection
    /// and what more `budget` can spare, writing through `sink`.
    init(source: Source, fetcher: any Fetcher, validator: Validator, size: Int64, start: Int64, budget: ConnectionBudget,
         sink: ContentSink, gate: AttemptGate, context: FetchContext) {
        self.budget = budget
        self.source = source
        self.fetcher = fetcher
        self.validator = validator
        self.size = size
        self.start = start
        self.gate = gate
        self.context = context
        let chunks = Int((size - start + Self.chunkSize - 1) / Self.chunkSize)
        assembly = ChunkAssembly(chunks: chunks, chunkSize: Int(Self.chunkSize), lastChunkSize: Int(size - start) - (chunks - 1) * Int(Self.chunkSize),
                                 origin: start, claimChunks: Self.rangeChunks, spread: budget.total,
                                 waiting: (budget.total + 1) * Self.rangeChunks, sink: sink)
    }

    /// Whether a stream is worth fetching over several connections: ranges offered, a validator to
    /// pin the version, a known size, running to the end, and large enough.
    static func suits(_ stream: FetchedStream, fetcher: any Fetcher) -> Bool {
        guard fetcher.servesRanges, stream.acceptsRanges, stream.validator != nil, let size = stream.size,
              stream.length.map({ stream.offset + $0 == size }) ?? true else { return false }
        return size - stream.offset >= threshold
    }

    /// Copies everything. `head` (open from `start`) delivers the first `probeChunks` chunks alone; a
    /// stream that brought them faster than `oneStreamAbove` is not capped (loopback, a fast mirror),
    /// where more connections would only cost CPU: it goes on alone to the end. Otherwise it is cut
    /// there and every connection takes chunks.
    func run(head: FetchedBody) async throws -> Outcome {
        defer { budget.give(extra.withLock { $0 }) }
        let started = ContinuousClock.now
        let headSink = HeadSink(assembly: assembly, gate: gate, chunks: min(Self.probeChunks, assembly.chunkCount)) { [self] chunks, last in
            let elapsed = started.duration(to: .now)
            let rate = Double(chunks) * Double(Self.chunkSize) / max(1e-6, Double(elapsed.milliseconds) / 1000)
            let limit = budget.oneStreamAbove.map(Double.init)
            // A stream far below the bar after 4 MiB is capped: no need to probe on (a 50 MiB/s link saves 0.2 s).
            if !last, chunks < Self.earliestCut || limit.map({ rate >= $0 / 2 }) ?? false { return .probeOn }
            if last, let limit, rate >= limit { return .alone }
            return takeConnections() == 0 ? .alone : .cut
        }
        do {
            if try await deliverHead(head, into: headSink) { return .complete }
            let connections = 1 + takeConnections()
            announce(connections)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<connections {
                    group.addTask { [self] in try await stoppingOnError { try await work() } }
                }
                try await group.waitForAll()
            }
        } catch let ended as Ended {
            return ended.outcome
        } catch {
            if let outcome = decided.withLock({ $0 }) { return outcome }
            assembly.stop()
            throw error
        }
        guard assembly.isComplete else { throw PkgfetchError(.cancelled, "\(source.redacted): the copy stopped before its end") }
        return .complete
    }

    /// Takes the connections the budget can spare beyond the head's, unless this copy holds some already; returns how many it holds.
    private func takeConnections() -> Int {
        extra.withLock { taken in
            if taken == 0 { taken = budget.take(upTo: budget.total - 1) }
            return taken
        }
    }

    /// Says, as an event, how many connections the copy now uses.
    private func announce(_ connections: Int) {
        context.events.emit(task: "ranges", source: source, bytes: size, outcome: "\(connections) connections", attempt: context.attempt)
    }

    /// Gives back one connection beyond the head's when a download waits for one; returns how many
    /// this copy then holds with the head's, or nil when it gave none (the calling worker then goes on).
    private func giveConnectionToWaiter() -> Int? {
        extra.withLock { taken in
            guard taken > 0, budget.hasWaiters else { return nil }
            taken -= 1
            budget.give()
            return taken + 1
        }
    }

    /// Takes one more connection when the budget has one free (nobody waits for it: `give` hands freed
    /// connections to waiters first) and this copy holds fewer than `total`; returns how many it then
    /// holds with the head's, or nil when it took none.
    private func takeFreedConnection() -> Int? {
        guard assembly.hasUnclaimed else { return nil }
        return extra.withLock { taken in
            guard taken < budget.total - 1, budget.take(upTo: 1) == 1 else { return nil }
            taken += 1
            return taken + 1
        }
    }

    /// Runs one connection's work; when it fails, the others stop taking chunks (and waiting for them).
    private func stoppingOnError(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            assembly.stop()
            throw error
        }
    }

    /// The stream already open writes the first chunks, then goes on alone (true: it delivered to the
    /// end) or is cut; the chunks it did not make whole are left to the connections.
    private func deliverHead(_ head: FetchedBody, into sink: HeadSink) async throws -> Bool {
        assembly.claimFirst(sink.chunks)
        do {
            try await head.deliver(into: sink)
            if sink.alone { return true }
        } catch is HeadDone {
        } catch {
            if sink.alone { throw error }
            try check(error, progressed: sink.delivered > 0)
        }
        // What the stream did not make whole goes back to be taken (a chunk it began is resumed from there).
        assembly.release(from: sink.reached)
        return false
    }

    /// Takes ranges in order until none is left. Between ranges, a connection beyond the head's is
    /// given back when another download waits for one (so a batch's next package is not held up for
    /// the length of this copy), and one the budget freed meanwhile is taken up as one more connection.
    private func work() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            while let chunks = await assembly.claim() {
                try await fetch(chunks)
                if let connections = giveConnectionToWaiter() {
                    announce(connections)
                    break
                }
                if let connections = takeFreedConnection() {
                    announce(connections)
                    group.addTask { [self] in try await stoppingOnError { try await work() } }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Fetches what is missing of the run of `chunks`, from where it stopped, until every one is whole.
    private func fetch(_ chunks: Range<Int>) async throws {
        var resumes = 0
        while true {
            // One connection fills the run in order: what is missing starts at the first chunk not whole.
            let missing = chunks.first(where: { assembly.filled($0) < assembly.size(of: $0) })
            for whole in chunks.lowerBound..<(missing ?? chunks.upperBound) where !assembly.isDone(whole) { try assembly.complete(whole) }
            guard let chunk = missing else { return }
            let have = Int64(assembly.filled(chunk))
            let first = start + Int64(chunk) * Self.chunkSize + have
            let last = chunks.upperBound - 1
            let count = start + Int64(last) * Self.chunkSize + Int64(assembly.size(of: last)) - first
            let sink = RangeSink(chunks: chunk..<chunks.upperBound, assembly: assembly, gate: gate)
            let request = FetchRequest(source: source, offset: first, validator: validator, length: count)
            let stream = try await fetcher.open(request, context: context)
            if let outcome = refusal(stream, to: request) {
                stream.body.discard()
                decided.withLock { if $0 == nil { $0 = outcome } }
                assembly.stop()
                throw Ended(outcome: outcome)
            }
            do {
                try await stream.body.deliver(into: sink)
                try sink.flush()
            } catch is RangeSink.Overflow {
                // A server that does not keep to the ranges it answers is read as one that serves none.
                let outcome = Outcome.rangesRefused("asked for bytes \(request.offset)+\(count), the source sent more")
                decided.withLock { if $0 == nil { $0 = outcome } }
                assembly.stop()
                throw Ended(outcome: outcome)
            } catch {
                // What arrived before the cut is kept, so the range is asked again from its end.
                if gate.closure == nil { try? sink.flush() }
                try check(error, progressed: sink.delivered > 0)
            }
            if Int64(sink.delivered) < count {
                guard sink.delivered > 0, resumes < Self.maxResumes else {
                    throw PkgfetchError(.unavailable, "\(source.redacted): a range ended after \(sink.delivered) of \(count) bytes",
                                        scheme: source.scheme)
                }
                resumes += 1
            }
        }
    }

    /// Rethrows `error` unless it is a cut worth asking again (retryable, after progress, gate open).
    private func check(_ error: any Error, progressed: Bool) throws {
        let failure = gate.closure ?? PkgfetchError.from(error).about(scheme: source.scheme)
        guard failure.retryable, gate.closure == nil, progressed, !Task.isCancelled else { throw failure }
    }

    /// Why `stream` is not the range `request` asked, or nil when it is.
    private func refusal(_ stream: FetchedStream, to request: FetchRequest) -> Outcome? {
        if stream.validator != validator {
            return .sourceChanged("the source is now \(stream.validator?.description ?? "of an unknown version"), not \(validator.description)")
        }
        if let announced = stream.size, announced != size {
            return .sourceChanged("the source now has \(announced) bytes, not \(size)")
        }
        if stream.offset != request.offset || stream.length != request.length {
            return .rangesRefused("asked for bytes \(request.offset)+\(request.length ?? 0), the source answered \(stream.status.map { "HTTP \($0) " } ?? "")from byte \(stream.offset)\(stream.length.map { " for \($0) bytes" } ?? " to the end")")
        }
        return nil
    }
}

/// Where one connection's bytes for one range go: gathered into a block of 256 KiB (libcurl hands
/// over a few KiB at a time, and each write ahead of the frontier is a system call), then into the
/// range's chunks in turn, each marked whole as it fills, up to the range's end; a byte past it throws
/// `Overflow`. Refuses everything once the attempt's gate is closed. `flush` after the delivery.
private final class RangeSink: ByteSink, @unchecked Sendable {
    /// The answer holds more bytes than the range it answers.
    struct Overflow: Error {}

    private let chunks: Range<Int>
    private let assembly: ChunkAssembly
    private let gate: AttemptGate
    private let block: UnsafeMutableRawBufferPointer
    /// Written on the delivering thread only, read after the delivery.
    private var gathered = 0
    private var current: Int
    /// Bytes of `current` in the assembly or gathered.
    private var reached: Int
    /// Bytes received and kept (in the assembly or gathered).
    private(set) var delivered = 0

    init(chunks: Range<Int>, assembly: ChunkAssembly, gate: AttemptGate) {
        self.chunks = chunks
        self.assembly = assembly
        self.gate = gate
        current = chunks.lowerBound
        reached = assembly.filled(current)
        block = .allocate(byteCount: StagingFile.blockSize, alignment: 64)
    }

    deinit { block.deallocate() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let closure = gate.closure { throw closure }
        var rest = bytes
        while !rest.isEmpty {
            guard current < chunks.upperBound else { throw Overflow() }
            let count = min(rest.count, assembly.size(of: current) - reached, block.count - gathered)
            UnsafeMutableRawBufferPointer(rebasing: block[gathered..<(gathered + count)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: rest.prefix(count)))
            gathered += count
            reached += count
            delivered += count
            rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(count))
            if reached == assembly.size(of: current) || gathered == block.count { try flush() }
        }
    }

    /// Hands what is gathered to the assembly; marks the chunk whole when it is.
    func flush() throws {
        if gathered > 0 {
            try assembly.write(chunk: current, UnsafeRawBufferPointer(rebasing: block[0..<gathered]))
            gathered = 0
        }
        if current < chunks.upperBound, reached == assembly.size(of: current) {
            try assembly.complete(current)
            current += 1
            reached = current < chunks.upperBound ? assembly.filled(current) : 0
        }
    }
}

/// Where the first stream's bytes go: chunk after chunk of the assembly (each written straight to the
/// file: the first stream is always at the frontier), then, once its chunks are whole, either on to
/// the file alone (when `decide` says so: the stream is fast, or no connection is free) or nowhere
/// (`HeadDone` cuts it); a stream plainly capped is cut before the probe's end.
private final class HeadSink: ByteSink, @unchecked Sendable {
    let chunks: Int
    private let assembly: ChunkAssembly
    private let gate: AttemptGate
    /// What the stream does after `chunks` whole chunks (`last`: all of its chunks).
    private let decide: @Sendable (_ chunks: Int, _ last: Bool) -> Decision

    enum Decision { case probeOn, alone, cut }
    /// Written on the delivering thread only, read after the delivery.
    private(set) var alone = false
    private(set) var delivered = 0
    private var current = 0
    /// The first chunk not whole.
    var reached: Int { current }

    init(assembly: ChunkAssembly, gate: AttemptGate, chunks: Int, decide: @escaping @Sendable (_ chunks: Int, _ last: Bool) -> Decision) {
        self.assembly = assembly
        self.gate = gate
        self.chunks = chunks
        self.decide = decide
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let closure = gate.closure { throw closure }
        if alone { return try assembly.writeAtFrontier(bytes) }
        var rest = bytes
        while !rest.isEmpty {
            let room = assembly.size(of: current) - assembly.filled(current)
            let part = UnsafeRawBufferPointer(rebasing: rest.prefix(room))
            try assembly.write(chunk: current, part, appending: true)
            delivered += part.count
            rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(part.count))
            guard assembly.filled(current) == assembly.size(of: current) else { continue }
            try assembly.complete(current)
            current += 1
            switch decide(current, current == chunks) {
            case .probeOn:
                continue
            case .alone:
                alone = true
                // Chunks claimed for the probe but not reached are this stream's too: it writes on past them.
                return try assembly.writeAtFrontier(rest)
            case .cut:
                throw RangedCopy.HeadDone()
            }
        }
    }
}
