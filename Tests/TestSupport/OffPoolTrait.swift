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
        // A suite's scope only groups its tests; each test takes a slot of its own, or all of them.
        guard testCase != nil || !test.isSuite else { return try await function() }
        let slots = test.traits.contains { $0 is RunsAloneTrait } ? TestSlots.shared.width : 1
        await TestSlots.shared.acquire(slots)
        defer { TestSlots.shared.release(slots) }
        try await withTaskExecutorPreference(TestThreads.shared) { try await function() }
    }
}

/// Slots for tests running at once (`PKGFETCH_TEST_WIDTH`, default 4), waited for without blocking a thread.
final class TestSlots: @unchecked Sendable {
    static let shared = TestSlots(width: ProcessInfo.processInfo.environment["PKGFETCH_TEST_WIDTH"].flatMap(Int.init) ?? 4)

    /// Slots in all.
    let width: Int
    private let lock = NSLock()
    private var free: Int
    /// First come, first served: a test waiting for every slot is not overtaken by later ones.
    private var waiting: [(slots: Int, continuation: CheckedContinuation<Void, Never>)] = []

    init(width: Int) {
        self.width = max(1, width)
        free = self.width
    }

    func acquire(_ slots: Int) async {
        await withCheckedContinuation { continuation in
            let now = lock.withLock { () -> Bool in
                if waiting.isEmpty, free >= slots { free -= slots; return true }
                waiting.append((slots, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    func release(_ slots: Int) {
        let ready = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            free += slots
            var ready: [CheckedContinuation<Void, Never>] = []
            while let next = waiting.first, next.slots <= free {
                free -= next.slots
                ready.append(waiting.removeFirst().continuation)
            }
            return ready
        }
        ready.forEach { $0.resume() }
    }
}

/// Marks a test of an `.offPool` suite that measures wall time with little slack (a deadline met
/// within a second): it runs with no other test beside it.
public struct RunsAloneTrait: TestTrait {}

extension Trait where Self == RunsAloneTrait {
    /// The test runs with no other test beside it (see `RunsAloneTrait`).
    public static var alone: Self { RunsAloneTrait() }
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
