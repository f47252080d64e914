#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a run stopped by a signal leaves behind: no staging areas, and no install cut half-way. A
/// value the program owns and hands to its runners (the CLI makes one and stops it from its signal
/// handler); the library keeps no process-wide state of its own. Staging areas register as they are
/// created; installs run inside `unlessStopped` (an entry's creation in staging inside
/// `shortlyUnlessStopped`), so `stop()` waits for the renames in flight and none starts after it;
/// work that writes into a staging tree (an unpack) runs inside `whileWriting`, so `stop()` halts it
/// and waits for it to return before the tree is removed. Another `Interruption` (a later run in the
/// same process) is not affected.
package final class Interruption: @unchecked Sendable {
    // Held for the whole of an `unlessStopped` body, so `stop()` waits for it; taken before `condition`.
    private let changing = Lock()
    // Guards `live`, briefly: a writer or a staging area of another package never waits for an install.
    private let condition = Condition()
    private var live = Live()

    /// How long `stop()` waits for writers to return after halting them, at most.
    static let writersGrace: TimeInterval = 10

    /// A switch not yet stopped.
    package init() {}

    /// Runs `body` (an install's renames, a staging area's creation) unless this switch was stopped.
    func unlessStopped<T>(_ body: () throws -> T) throws -> T {
        changing.lock()
        defer { changing.unlock() }
        if isStopped { throw Self.stopped }
        return try body()
    }

    /// Runs `body`, a short change in staging (an entry created), unless stopped; `stop()` removes
    /// staging only after it. Not held back by an install in flight, as `unlessStopped` is.
    func shortlyUnlessStopped<T>(_ body: () throws -> T) throws -> T {
        try condition.withLock {
            if live.stopping { throw Self.stopped }
            return try body()
        }
    }

    private static let stopped = PkgfetchError(.interrupted, "stopped by a signal before this step")

    /// Runs `create`, which makes a staging directory, unless stopped; the directory is registered
    /// in the same step, so `stop()` either removes it or finds no directory made.
    func creating(_ create: () throws -> StagingDirectory) throws -> StagingDirectory {
        try unlessStopped {
            let directory = try create()
            condition.withLock { live.stagingAreas[ObjectIdentifier(directory)] = directory }
            return directory
        }
    }

    func unregister(_ directory: StagingDirectory) {
        condition.withLock { _ = live.stagingAreas.removeValue(forKey: ObjectIdentifier(directory)) }
    }

    /// Runs `body`, which writes into a staging area on the calling thread, unless stopped. `halt`
    /// asks it to stop early (it may be called from another thread while `body` runs); `stop()` calls
    /// it, then waits for `body` to return before removing any staging area.
    func whileWriting<T>(halt: @escaping @Sendable () -> Void, _ body: () throws -> T) throws -> T {
        let token = try beginWriting(halt: halt)
        defer { endWriting(token) }
        return try body()
    }

    /// As `whileWriting`, for async work (handed to blocking threads): halting it cancels its task.
    func whileWriting<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = HaltableTask<T>()
        let token = try beginWriting(halt: { task.cancel() })
        defer { endWriting(token) }
        return try await task.run(body)
    }

    private func beginWriting(halt: @escaping @Sendable () -> Void) throws -> Int {
        try condition.withLock {
            if live.stopping { throw Self.stopped }
            live.nextWriter += 1
            live.writers[live.nextWriter] = halt
            return live.nextWriter
        }
    }

    private func endWriting(_ token: Int) {
        condition.withLock {
            live.writers[token] = nil
            condition.broadcast()
        }
    }

    /// Whether `stop()` was called.
    package var isStopped: Bool { condition.withLock { live.stopping } }

    /// Waits for an install in progress, stops new ones, halts the writers into staging and waits for
    /// them (`writersGrace` at most), then removes every staging area registered here. Call it from a
    /// signal handler's queue (not from signal context), then exit.
    package func stop() {
        condition.withLock { live.stopping = true }
        // Waits for an install (or a staging area's creation) in flight; none starts after it.
        changing.withLock {}
        let halts = condition.withLock { Array(live.writers.values) }
        for halt in halts { halt() }
        let deadline = Date(timeIntervalSinceNow: Self.writersGrace)
        let areas = condition.withLock {
            while !live.writers.isEmpty, condition.wait(until: deadline) {}
            return Array(live.stagingAreas.values)
        }
        for area in areas { try? area.remove() }
    }

    private struct Live {
        var stagingAreas: [ObjectIdentifier: StagingDirectory] = [:]
        var writers: [Int: @Sendable () -> Void] = [:]
        var nextWriter = 0
        var stopping = false
    }
}

/// A task that can be cancelled before it has started: it then starts cancelled.
private final class HaltableTask<T: Sendable>: @unchecked Sendable {
    private let lock = Lock()
    private var task: Task<T, any Error>?
    private var cancelled = false

    func cancel() {
        lock.withLock {
            cancelled = true
            task?.cancel()
        }
    }

    func run(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = lock.withLock {
            let task = Task { try await body() }
            self.task = task
            if cancelled { task.cancel() }
            return task
        }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }
}
