#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The connections a runner may have open at once, shared by every package of a batch (the runner is
/// shared, and so is this object): each attempt waits for one connection before it opens its source,
/// and a large download asks for more (`--connections`) only as far as they are free, so a batch never
/// holds more than `total` whatever its `--parallel` and file sizes.
package final class ConnectionBudget: @unchecked Sendable {
    /// The most connections open at once (at least 1); also how many one download may use.
    package let total: Int
    /// A large download whose first stream brings its first 16 MiB faster than this (bytes per second)
    /// stays one stream: such a link is not capped per connection (loopback, a mirror on the LAN), and
    /// on it more connections only cost CPU. nil: always several connections. Default 400 MiB/s: a link
    /// capped at 200 MiB/s per connection took 5.15 s for 1 GiB alone and 1.39 s in ranges (aria2c -x4
    /// 2.55 s); quiet loopback streams run at about 1 GiB/s and stay alone, while a loaded machine's
    /// (250–500 MiB/s) may be taken for capped, which costs 1.3–1.4× there (ranges forced on loopback:
    /// 1.40 s against 1.02 s for 1 GiB) — correct either way, and rare on a node.
    package let oneStreamAbove: Int64?
    private let lock = Lock()
    private var inUse = 0
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextWaiter: UInt64 = 0

    /// A budget of `total` connections; see `oneStreamAbove`.
    package init(total: Int, oneStreamAbove: Int64? = 400 << 20) {
        self.total = max(1, total)
        self.oneStreamAbove = oneStreamAbove
    }

    /// Waits until a connection is free and takes it; throws `CancellationError` when the task is cancelled first.
    func take() async throws {
        let id = lock.withLock { () -> UInt64 in
            nextWaiter += 1
            return nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Decided under the lock, so the cancellation handler and this never both resume it.
                let now = lock.withLock { () -> Bool? in
                    if Task.isCancelled { return false }
                    if inUse < total {
                        inUse += 1
                        return true
                    }
                    waiters.append((id, continuation))
                    return nil
                }
                switch now {
                case true?: continuation.resume()
                case false?: continuation.resume(throwing: CancellationError())
                case nil: break
                }
            }
        } onCancel: {
            let waiter = lock.withLock { () -> CheckedContinuation<Void, any Error>? in
                guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Takes up to `count` connections without waiting; returns how many it took.
    func take(upTo count: Int) -> Int {
        lock.withLock {
            let granted = max(0, min(count, total - inUse))
            inUse += granted
            return granted
        }
    }

    /// Gives back `count` connections, waking whoever waits for one.
    func give(_ count: Int = 1) {
        guard count > 0 else { return }
        let woken = lock.withLock { () -> [CheckedContinuation<Void, any Error>] in
            inUse -= count
            var woken: [CheckedContinuation<Void, any Error>] = []
            while inUse < total, !waiters.isEmpty {
                inUse += 1
                woken.append(waiters.removeFirst().continuation)
            }
            return woken
        }
        for waiter in woken { waiter.resume() }
    }

    /// Whether anyone waits for a connection (`take()`).
    var hasWaiters: Bool { lock.withLock { !waiters.isEmpty } }

    /// Connections taken now (for tests and events).
    package var taken: Int { lock.withLock { inUse } }
}
