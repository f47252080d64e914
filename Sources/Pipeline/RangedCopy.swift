import Foundation

/// One large source fetched over several connections: the stream already open (the head) delivers the
/// first chunk, and every connection then fetches the next chunk not yet taken, in order, as a bounded
/// range of the same version (`FetchRequest.length` with the validator). Bytes become part of the file
/// only in order, through the staging file's one write path (so SHA-256 runs once, over the whole
/// file, as it is written, and nothing is read back): the chunk at the frontier is written as it
/// arrives, chunks ahead of it wait in memory. A connection takes a chunk only while fewer than
/// `connections + 1` chunks wait (`ChunkAssembly`), so memory stays flat whatever the size.
/// A segment cut after progress is asked again from where it stopped; an answer that is not the range
/// asked (a 200: the server ignores ranges) ends the parallel copy so the caller goes on with one
/// stream; an answer of another version ends it so the caller starts over (nothing is spliced).
final class RangedCopy: @unchecked Sendable {
    /// Bytes per range request. Small enough that `connections + 1` of them in memory are little next
    /// to the process (2 MiB × 5 for 4 connections), large enough that a request's round trip is a
    /// small part of a chunk at 50 MB/s (40 ms).
    static let chunkSize: Int64 = 2 << 20
    /// Below this the copy stays one stream: extra connections would cost more than they save.
    static let threshold: Int64 = 16 << 20
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

    /// Thrown by the head's sink when the head has delivered its chunk: not a failure.
    private struct HeadDone: Error {}
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
    private let connections: Int

    /// A copy of `source` (`size` bytes, of version `validator`) from `start` on, over `connections`
    /// connections (the head's included), writing through `sink`.
    init(source: Source, fetcher: any Fetcher, validator: Validator, size: Int64, start: Int64, connections: Int,
         sink: ContentSink, gate: AttemptGate, context: FetchContext) {
        self.source = source
        self.fetcher = fetcher
        self.validator = validator
        self.size = size
        self.start = start
        self.connections = max(1, connections)
        self.gate = gate
        self.context = context
        let chunks = Int((size - start + Self.chunkSize - 1) / Self.chunkSize)
        assembly = ChunkAssembly(chunks: chunks, chunkSize: Int(Self.chunkSize), lastChunkSize: Int(size - start) - (chunks - 1) * Int(Self.chunkSize),
                                 waiting: self.connections + 1, sink: sink)
    }

    /// Whether a stream is worth fetching over several connections: ranges offered, a validator to
    /// pin the version, a known size, running to the end, and large enough.
    static func suits(_ stream: FetchedStream, fetcher: any Fetcher) -> Bool {
        guard fetcher.servesRanges, stream.acceptsRanges, stream.validator != nil, let size = stream.size,
              stream.length.map({ stream.offset + $0 == size }) ?? true else { return false }
        return size - stream.offset >= threshold
    }

    /// Copies everything: `head` (open from `start`) delivers the first chunk, then joins the others.
    func run(head: FetchedBody) async throws -> Outcome {
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    try await stoppingOnError {
                        try await deliverHead(head)
                        try await work()
                    }
                }
                for _ in 1..<connections {
                    group.addTask { [self] in try await stoppingOnError { try await work() } }
                }
                try await group.waitForAll()
            }
        } catch let ended as Ended {
            return ended.outcome
        } catch {
            assembly.stop()
            throw error
        }
        guard assembly.isComplete else { throw PkgfetchError(.cancelled, "\(source.redacted): the copy stopped before its end") }
        return .complete
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

    /// The stream already open writes chunk 0 and is cut at its end; what it did not deliver is asked again.
    private func deliverHead(_ head: FetchedBody) async throws {
        _ = assembly.claimFirst()
        do {
            try await head.deliver(into: ChunkSink(chunk: 0, assembly: assembly, gate: gate, overflow: HeadDone()))
        } catch is HeadDone {
        } catch {
            try check(error, progressed: assembly.filled(0) > 0)
        }
        try await fetch(chunk: 0)
    }

    /// Takes chunks in order until none is left.
    private func work() async throws {
        while let chunk = await assembly.claim() {
            try await fetch(chunk: chunk)
        }
    }

    /// Fetches what is missing of `chunk`, from where it stopped, until it is whole.
    private func fetch(chunk: Int) async throws {
        var resumes = 0
        while true {
            let have = Int64(assembly.filled(chunk))
            let (first, count) = (start + Int64(chunk) * Self.chunkSize, Int64(assembly.size(of: chunk)))
            if have == count { return try assembly.complete(chunk) }
            let request = FetchRequest(source: source, offset: first + have, validator: validator, length: count - have)
            let stream = try await fetcher.open(request, context: context)
            if let outcome = refusal(stream, to: request) {
                stream.body.discard()
                assembly.stop()
                throw Ended(outcome: outcome)
            }
            let before = assembly.filled(chunk)
            do {
                let overflow = PkgfetchError(.integrity, "\(source.redacted): the source sent more than the \(count - have) bytes of the range asked",
                                             scheme: source.scheme)
                try await stream.body.deliver(into: ChunkSink(chunk: chunk, assembly: assembly, gate: gate, overflow: overflow))
            } catch {
                try check(error, progressed: assembly.filled(chunk) > before)
            }
            if Int64(assembly.filled(chunk)) < count {
                guard assembly.filled(chunk) > before, resumes < Self.maxResumes else {
                    throw PkgfetchError(.unavailable, "\(source.redacted): a range ended after \(assembly.filled(chunk) - before) of \(count - have) bytes",
                                        scheme: source.scheme)
                }
                resumes += 1
            }
        }
    }

    /// Rethrows `error` unless it is a cut worth asking again (retryable, after progress, gate open).
    private func check(_ error: any Error, progressed: Bool) throws {
        if let ended = error as? Ended { throw ended }
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

/// Where one connection's bytes for one chunk go: into the assembly, up to the chunk's end; a byte past
/// it throws `overflow`. Refuses everything once the attempt's gate is closed.
private struct ChunkSink: ByteSink {
    let chunk: Int
    let assembly: ChunkAssembly
    let gate: AttemptGate
    let overflow: any Error

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let closure = gate.closure { throw closure }
        let room = assembly.size(of: chunk) - assembly.filled(chunk)
        try assembly.write(chunk: chunk, UnsafeRawBufferPointer(rebasing: bytes.prefix(room)))
        if bytes.count > room { throw overflow }
    }
}
