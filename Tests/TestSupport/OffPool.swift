import Foundation

/// Runs blocking work (waiting for a child process) on a thread of its own, so tests that wait for
/// processes do not hold Swift's cooperative threads (two on a two-core machine) from the tests that
/// measure time in-process.
public func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.start()
    }
}
