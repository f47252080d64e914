#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// One stream of a source fetched through a real runner, as its fetcher announced it against what its
/// body delivered: a fetcher that announces a size must deliver exactly that many bytes.
struct StreamAnnouncement {
    /// The size announced, if any.
    var announced: Int64?
    /// The stream's offset plus the bytes its body delivered.
    var delivered: Int64

    var mismatch: String {
        "the stream announced \(announced.map(String.init) ?? "no size") bytes and delivered \(delivered)"
    }

    /// Fetches `source` once (the runner may fail it, e.g. on the very mismatch looked for) and returns
    /// its first stream's announcement and delivery.
    static func read(_ fetcher: any Fetcher, _ source: Source, installingTo path: String) async throws -> StreamAnnouncement {
        let recorder = AnnouncementRecorder(fetcher)
        _ = try? await SingleSourceRun(fetcher: recorder, source: source, retry: RetryPolicy(attempts: 1, perAttemptTimeout: .seconds(60)))
            .run(installingTo: path)
        guard let first = recorder.first else {
            throw ConformanceFailure(check: "", message: "the source could not be opened")
        }
        return first
    }
}

/// Passes the fetcher's streams on, noting the first one's announced size and the bytes its body delivered.
private final class AnnouncementRecorder: Fetcher, @unchecked Sendable {
    private let inner: any Fetcher
    private let lock = Lock()
    private var announced: Int64??
    private var offset: Int64 = 0
    private var delivered: Int64 = 0

    init(_ inner: any Fetcher) { self.inner = inner }

    var first: StreamAnnouncement? {
        lock.withLock { announced.map { StreamAnnouncement(announced: $0, delivered: offset + delivered) } }
    }

    func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        var stream = try await inner.open(request, context: context)
        let isFirst = lock.withLock { () -> Bool in
            guard announced == nil else { return false }
            (announced, offset) = (.some(stream.size), stream.offset)
            return true
        }
        guard isFirst else { return stream }
        let body = stream.body
        stream.body = .writer(onCancel: body.cancel) { [self] sink in
            try await body.deliver(into: CountingSink(sink) { count in self.lock.withLock { self.delivered += count } })
        }
        return stream
    }
}

/// Passes bytes on, telling `counted` how many.
private struct CountingSink: ByteSink {
    let target: any ByteSink
    let counted: @Sendable (Int64) -> Void

    init(_ target: any ByteSink, counted: @escaping @Sendable (Int64) -> Void) {
        self.target = target
        self.counted = counted
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        counted(Int64(bytes.count))
        try target.write(bytes)
    }
}

/// One bounded range opened straight from a fetcher, as the runner's parallel copy asks for it: with
/// the validator of a first stream of the same source.
enum RangeRead {
    static func read(_ fetcher: any Fetcher, _ source: Source, offset: Int64, length: Int64) async throws -> (offset: Int64, bytes: Data) {
        let plan = Plan(rule: "conformance", package: "conformance", fileName: "package.bin", sources: [source])
        let context = FetchContext(plan: plan, attempt: 1, deadline: .now + .seconds(60), events: EventEmitter())
        let first = try await fetcher.open(FetchRequest(source: source), context: context)
        first.body.cancel()
        guard let validator = first.validator else {
            throw ConformanceFailure(check: "", message: "the stream reported no validator: a range cannot be asked of one version")
        }
        let range = try await fetcher.open(FetchRequest(source: source, offset: offset, validator: validator, length: length), context: context)
        let collected = CollectingSink(limit: Int(length) + 1)
        try await range.body.deliver(into: collected)
        return (range.offset, collected.bytes)
    }
}

/// Keeps what it is given, up to `limit` bytes (then refuses more).
private final class CollectingSink: ByteSink, @unchecked Sendable {
    private let lock = Lock()
    private var kept = Data()
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    var bytes: Data { lock.withLock { kept } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try lock.withLock {
            guard kept.count + bytes.count <= limit else {
                throw ConformanceFailure(check: "", message: "the range delivered more bytes than asked for")
            }
            kept.append(contentsOf: bytes)
        }
    }
}
