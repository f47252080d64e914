import Foundation
import Testing

/// Runs each test of a suite on threads of its own rather than on Swift's cooperative pool (two threads
/// here), so that tests may block — start a server, wait for a process, push with the oras client —
/// while other tests run in parallel and the timers they measure keep firing. At most
/// `TestSlots.width` such tests run at once: each starts servers and processes, and two cores run
/// only so many before the timings tests measure stretch.
public struct OffPoolTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        // A suite's scope only groups its tests; each test takes a slot of its own.
        guard testCase != nil || !test.isSuite else { return try await function() }
        await TestSlots.shared.acquire()
        defer { TestSlots.shared.release() }
        try await withTaskExecutorPreference(TestThreads.shared) { try await function() }
    }
}

/// Slots for tests running at once (`PKGFETCH_TEST_WIDTH`, default 4), waited for without blocking a thread.
final class TestSlots: @unchecked Sendable {
    static let shared = TestSlots(width: ProcessInfo.processInfo.environment["PKGFETCH_TEST_WIDTH"].flatMap(Int.init) ?? 4)

    private let lock = NSLock()
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(width: Int) { free = max(1, width) }

    func acquire() async {
        await withCheckedContinuation { continuation in
            let now = lock.withLock { () -> Bool in
                if free > 0 { free -= 1; return true }
                waiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func release() {
        let next = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if waiting.isEmpty { free += 1; return nil }
            return waiting.removeFirst()
        }
        next?.resume()
    }
}

extension Trait where Self == OffPoolTrait {
    /// The suite's tests may block: they run on threads of their own (see `OffPoolTrait`).
    public static var offPool: Self { OffPoolTrait() }
}

/// A task executor that starts another thread whenever work arrives and every thread is busy, so that
/// a test blocked in a process wait never keeps another test's resumed task waiting. Idle threads stay
/// for the next piece of work.
final class TestThreads: TaskExecutor, @unchecked Sendable {
    static let shared = TestThreads()

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var idle = 0
    private var started = 0

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        // Every job waiting needs a thread that is not busy: an idle one, or a new one.
        if idle < jobs.count {
            started += 1
            let thread = Thread { [self] in serve() }
            thread.name = "test-thread-\(started)"
            thread.start()
        } else {
            condition.signal()
        }
        condition.unlock()
    }

    private func serve() {
        condition.lock()
        while true {
            while jobs.isEmpty {
                idle += 1
                condition.wait()
                idle -= 1
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
            condition.lock()
        }
    }
}
