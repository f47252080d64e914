import Pipeline
import Testing

/// Runs each test of a suite on threads of its own rather than on Swift's cooperative pool (two threads
/// here), so that tests may block — start a server, wait for a process, push with the oras client —
/// while other tests run in parallel and the timers they measure keep firing.
public struct OffPoolTrait: SuiteTrait, TestTrait, TestScoping {
    /// Shared by every test: a thread per test that may block at once.
    static let threads = BlockingIO(threads: 8)

    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(Self.threads) { try await function() }
    }
}

extension Trait where Self == OffPoolTrait {
    /// The suite's tests may block: they run on threads of their own (see `OffPoolTrait`).
    public static var offPool: Self { OffPoolTrait() }
}
