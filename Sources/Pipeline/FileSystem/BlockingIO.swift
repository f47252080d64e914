#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A few threads of its own for work that blocks (file I/O, unpacking, syncs, directory walks), so that
/// Swift's cooperative pool — two threads on a two-core node — keeps running timers, transfers and
/// other packages meanwhile. The pattern of swift-nio's `NIOThreadPool`: a fixed set of threads
/// taking work from one queue. Work is synchronous: async code that blocks inside would be moved back
/// to the cooperative pool at its first suspension.
public final class BlockingIO: @unchecked Sendable {
    /// The process's pool: four threads, so that a batch's default four packages can each block at once.
    public static let shared = BlockingIO(threads: 4)

    /// The prefix of the pool's thread names (`pkgfetch-blocking-io-0`, …), and of `runOnOwnThread`'s.
    public static let threadNamePrefix = "pkgfetch-blocking-io"

    private let condition = Condition()
    private var queue: [@Sendable () -> Void] = []
    private var head = 0

    /// Starts `threads` threads that live as long as the process.
    public init(threads: Int) {
        for index in 0..<max(1, threads) {
            Self.startThread(named: "\(index)") { [self] in self.serve() }
        }
    }

    /// The name of the blocking-I/O thread running the caller (`pkgfetch-blocking-io-…`), or nil on any
    /// other thread. Kept by the thread itself: on Linux a thread starts with its creator's kernel
    /// name, and a kernel name holds 15 bytes at most.
    public static var currentThreadName: String? { threadName.value }

    private static let threadName = ThreadLocal<String>()

    private static func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
        let fullName = "\(threadNamePrefix)-\(name)"
        DetachedThread.start(name: fullName, stackSize: 1 << 20) {
            threadName.value = fullName
            body()
        }
    }

    /// Runs `work` on one of the pool's threads and returns its result. The calling task suspends
    /// meanwhile. Cancelling it does not interrupt `work`, but `work` can ask (`checkCancellation()`).
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await Self.handOff(work) { body in
            condition.lock()
            queue.append(body)
            condition.signal()
            condition.unlock()
        }
    }

    /// Runs `work` on a new thread of its own, for blocking work that waits on work the pool does (a
    /// streamed unpack waits for the download, whose writes go through the pool): on a pool thread,
    /// enough such waits at once would leave no thread for what they wait for.
    public static func runOnOwnThread<T: Sendable>(named name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await handOff(work) { body in startThread(named: name, body) }
    }

    /// Throws `CancellationError` when the task waiting for the work this thread is running was
    /// cancelled. Long blocking work (an unpack) calls it between steps; elsewhere it does nothing.
    public static func checkCancellation() throws {
        if WorkCancellation.current.value?.isCancelled == true {
            throw CancellationError()
        }
    }

    /// Suspends the calling task until `work`, handed to `start` to run on some thread, returns.
    private static func handOff<T: Sendable>(_ work: @escaping @Sendable () throws -> T,
                                             start: (@escaping @Sendable () -> Void) -> Void) async throws -> T {
        let cancellation = WorkCancellation()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                start { continuation.resume(with: Result { try cancellation.whileCurrent(work) }) }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    private func serve() {
        while true {
            condition.lock()
            while head == queue.count { condition.wait() }
            let work = queue[head]
            head += 1
            if head > 64, head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            condition.unlock()
            work()
        }
    }
}

/// Whether the task that handed a piece of work to a blocking thread was cancelled; the thread
/// running the work finds it in a thread-local (`BlockingIO.checkCancellation()`).
private final class WorkCancellation: @unchecked Sendable {
    /// The running work's, on a thread running work.
    static let current = ThreadLocal<WorkCancellation>()
    private let lock = Lock()
    private var cancelled = false

    var isCancelled: Bool { lock.withLock { cancelled } }

    func cancel() { lock.withLock { cancelled = true } }

    func whileCurrent<T>(_ work: () throws -> T) rethrows -> T {
        let outer = Self.current.value
        Self.current.value = self
        defer { Self.current.value = outer }
        return try work()
    }
}
