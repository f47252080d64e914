#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// Wraps the fetcher under test and bends its streams the way networks do (a cut, a stall, stale
/// bytes), so the conformance checks need nothing from the backend's server but content.
final class FaultyFetcher: Fetcher, @unchecked Sendable {
    /// What happens to one open (1 for the first).
    enum Fault: Sendable {
        /// The stream is cut after this many bytes (a retryable failure).
        case cut(after: Int)
        /// Instead of opening, a stream of this many random bytes of an unknown version is cut.
        case stale(bytes: Int)
        /// After this many bytes the stream delivers nothing until the runner cancels the body.
        case stall(after: Int)
    }

    let inner: any Fetcher
    private let plan: @Sendable (Int, FetchRequest) async throws -> Fault?
    private let lock = Lock()
    private var log: [(request: FetchRequest, answeredFrom: Int64?)] = []
    private var cancels = 0
    private var stalled = false

    init(_ inner: any Fetcher, plan: @escaping @Sendable (Int, FetchRequest) async throws -> Fault?) {
        self.inner = inner
        self.plan = plan
    }

    /// Every open: what the runner asked, and where the answer started (nil: the open failed).
    var opens: [(request: FetchRequest, answeredFrom: Int64?)] { lock.withLock { log } }
    /// Times the runner cancelled a stalled body.
    var cancelCount: Int { lock.withLock { cancels } }
    /// Whether a stall has begun.
    var isStalled: Bool { lock.withLock { stalled } }

    func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        let index = lock.withLock { () -> Int in
            log.append((request, nil))
            return log.count
        }
        let fault = try await plan(index, request)
        if case .stale(let count) = fault {
            lock.withLock { log[index - 1].answeredFrom = 0 }
            let junk = Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
            return FetchedStream(validator: .token("stale-\(UUID().uuidString)"), body: .writer { sink in
                try sink.write(junk)
                throw PkgfetchError(.unavailable, "conformance: connection cut after \(count) stale bytes")
            })
        }
        var stream = try await inner.open(request, context: context)
        lock.withLock { log[index - 1].answeredFrom = stream.offset }
        let body = stream.body
        switch fault {
        case .cut(let limit):
            stream.body = .writer(onCancel: body.cancel) { sink in
                do {
                    try await body.deliver(into: CuttingSink(sink, limit: limit))
                } catch is CuttingSink.Reached {
                    throw PkgfetchError(.unavailable, "conformance: connection cut after \(limit) bytes")
                }
            }
        case .stall(let limit):
            let release = StallRelease()
            stream.body = .writer(onCancel: { [self] in
                lock.withLock { cancels += 1 }
                release.open()
                body.cancel()
            }) { [self] sink in
                do {
                    try await body.deliver(into: CuttingSink(sink, limit: limit))
                } catch is CuttingSink.Reached {
                    lock.withLock { stalled = true }
                    // Deaf to task cancellation on purpose: only the runner's cancel() ends the stall.
                    await release.wait()
                    throw PkgfetchError(.unavailable, "conformance: stalled stream released")
                }
            }
        case .stale, nil:
            break
        }
        return stream
    }
}

/// Passes bytes on until `limit`, then throws `Reached` (as a retryable cut, for the runner).
private final class CuttingSink: ByteSink, @unchecked Sendable {
    struct Reached: Error {}
    private let target: any ByteSink
    private let limit: Int
    private var passed = 0

    init(_ target: any ByteSink, limit: Int) {
        self.target = target
        self.limit = limit
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        let room = limit - passed
        if room > 0 {
            let count = min(room, bytes.count)
            try target.write(UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
            passed += count
        }
        if passed >= limit { throw Reached() }
    }
}

/// A latch the runner's cancel opens.
private final class StallRelease: @unchecked Sendable {
    private let lock = Lock()
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func open() {
        let resumed = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            isOpen = true
            defer { waiters = [] }
            return waiters
        }
        resumed.forEach { $0.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let now = lock.withLock { () -> Bool in
                if isOpen { return true }
                waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
