import Foundation

/// A few threads of its own for work that blocks (file I/O, unpacking, syncs, directory walks), so that
/// Swift's cooperative pool — two threads on a two-core node — keeps running timers, transfers and
/// other packages meanwhile. The pattern of swift-nio's `NIOThreadPool`: a fixed set of threads
/// taking work from one queue. It is also a `TaskExecutor`, so async code that blocks inside (an
/// unpacker) can be run on it whole with `withTaskExecutorPreference`.
public final class BlockingIO: TaskExecutor, @unchecked Sendable {
    /// The process's pool: four threads, so that a batch's default four packages can each block at once.
    public static let shared = BlockingIO(threads: 4)

    private let condition = NSCondition()
    private var queue: [Work] = []
    private var head = 0

    private enum Work {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }

    /// Starts `threads` threads that live as long as the process.
    public init(threads: Int) {
        for index in 0..<max(1, threads) {
            let thread = Thread { [self] in self.serve() }
            thread.name = "pkgfetch-blocking-io-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs `work` on one of the pool's threads and returns its result. The calling task suspends
    /// meanwhile; cancellation does not interrupt `work` (it is blocking by definition).
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit(.closure { continuation.resume(with: Result { try work() }) })
        }
    }

    /// Runs async `body` with this pool as its task executor: the synchronous stretches of nonisolated
    /// async code it calls (an unpacker's extraction) run on the pool's threads.
    public func whole<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withTaskExecutorPreference(self) { try await body() }
    }

    /// Runs `job` on one of the pool's threads (the `TaskExecutor` requirement).
    public func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    private func submit(_ work: Work) {
        condition.lock()
        queue.append(work)
        condition.signal()
        condition.unlock()
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
            switch work {
            case .closure(let body): body()
            case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
    }
}
