import Synchronization

/// What a run stopped by a signal leaves behind: no staging areas, and no install cut half-way. A
/// value the program owns and hands to its runners (the CLI makes one and stops it from its signal
/// handler); the library keeps no process-wide state of its own. Staging areas register while they
/// exist; installs run inside `whileInstalling`, so `stop()` waits for the renames in flight and none
/// starts after it. Another `Interruption` (a later run in the same process) is not affected.
public final class Interruption: Sendable {
    private let state = Mutex(Live())

    /// A switch not yet stopped.
    public init() {}

    /// Runs `body` (an install's renames) unless this switch was stopped.
    func whileInstalling<T>(_ body: () throws -> T) throws -> T {
        try state.withLock { live in
            if live.stopping { throw PkgfetchError(.interrupted, "stopped before the install") }
            return try body()
        }
    }

    func register(_ path: String) { state.withLock { _ = $0.stagingAreas.insert(path) } }
    func unregister(_ path: String) { state.withLock { _ = $0.stagingAreas.remove(path) } }

    /// Whether `stop()` was called.
    public var isStopped: Bool { state.withLock { $0.stopping } }

    /// Waits for an install in progress, stops new ones, and removes every staging area registered
    /// here. Call it from a signal handler's queue (not from signal context), then exit.
    public func stop() {
        let paths = state.withLock { live in
            live.stopping = true
            return live.stagingAreas
        }
        for path in paths { try? FileSystem.removeTree(path) }
    }

    private struct Live {
        var stagingAreas: Set<String> = []
        var stopping = false
    }
}
