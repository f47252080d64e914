#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs one attempt against its deadline, whatever the fetcher does: at the deadline the attempt's
/// gate is closed (so nothing the attempt does afterwards reaches the staging file), its body is told
/// to release what it holds, its task is cancelled, and the caller goes on without waiting for it.
enum AttemptDeadline {
    /// Runs `body` for at most `timeout`. On expiry (or when the calling task is cancelled) `expire` runs
    /// first, with the error that ends the attempt, and that error is thrown.
    static func run<T: Sendable>(within timeout: Duration, timeoutError: PkgfetchError,
                                 expire: @escaping @Sendable (PkgfetchError) async -> Void,
                                 _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let outcome = Outcome<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.arm(continuation)
                let work = Task {
                    let result: Result<T, any Error>
                    do { result = .success(try await body()) } catch { result = .failure(error) }
                    if outcome.claim() { outcome.resume(result) }
                }
                let timer = Task {
                    do { try await Task.sleep(for: timeout) } catch { return }
                    guard outcome.claim() else { return }
                    await expire(timeoutError)
                    work.cancel()
                    outcome.resume(.failure(timeoutError))
                }
                outcome.tasks(work: work, timer: timer)
            }
        } onCancel: {
            guard outcome.claim() else { return }
            let cancelled = PkgfetchError(.cancelled, "cancelled before the attempt ended")
            Task {
                await expire(cancelled)
                outcome.cancelTasks()
                outcome.resume(.failure(cancelled))
            }
        }
    }

    /// Whichever of the attempt, the timer or a cancellation claims it first decides how the attempt ends.
    private final class Outcome<T: Sendable>: @unchecked Sendable {
        private let lock = Lock()
        private var continuation: CheckedContinuation<T, any Error>?
        private var claimed = false
        private var work: Task<Void, Never>?
        private var timer: Task<Void, Never>?

        func arm(_ continuation: CheckedContinuation<T, any Error>) { lock.withLock { self.continuation = continuation } }

        func tasks(work: Task<Void, Never>, timer: Task<Void, Never>) {
            let done = lock.withLock {
                self.work = work
                self.timer = timer
                return continuation == nil
            }
            if done { timer.cancel() }
        }

        /// True for the first caller only.
        func claim() -> Bool {
            lock.withLock {
                defer { claimed = true }
                return !claimed
            }
        }

        func resume(_ result: Result<T, any Error>) {
            let (continuation, timer) = lock.withLock { () -> (CheckedContinuation<T, any Error>?, Task<Void, Never>?) in
                defer { self.continuation = nil }
                return (self.continuation, self.timer)
            }
            timer?.cancel()
            continuation?.resume(with: result)
        }

        func cancelTasks() {
            let (work, timer) = lock.withLock { (self.work, self.timer) }
            work?.cancel()
            timer?.cancel()
        }
    }
}

/// The one door to an attempt's staging file: every change the attempt makes (a reset, a write) passes
/// through it, and once it is closed none does.
final class AttemptGate: @unchecked Sendable {
    private let lock = Lock()
    private var closedBecause: PkgfetchError?

    /// Runs `body` unless the gate is closed; a close waits for it.
    func pass<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock {
            if let closedBecause { throw closedBecause }
            return try body()
        }
    }

    /// Closes the gate for good; returns once nothing is passing.
    func close(because error: PkgfetchError) {
        lock.withLock { if closedBecause == nil { closedBecause = error } }
    }

    /// Why the gate was closed, if it was.
    var closure: PkgfetchError? { lock.withLock { closedBecause } }
}
