import Synchronization

/// What a run stopped by a signal leaves behind: no staging areas, and no install cut half-way.
/// Staging areas register here while they exist; installs run inside `whileInstalling`, so the
/// clean-up waits for the renames in flight and none starts after it.
public enum Interruption {
    private static let state = Mutex(Live())

    /// Runs `body` (an install's renames) unless the process is being stopped.
    static func whileInstalling<T>(_ body: () throws -> T) throws -> T {
        try state.withLock { live in
            if live.stopping { throw PkgfetchError(.interrupted, "stopped before the install") }
            return try body()
        }
    }

    static func register(_ path: String) { state.withLock { $0.stagingAreas.insert(path) } }
    static func unregister(_ path: String) { state.withLock { _ = $0.stagingAreas.remove(path) } }

    /// Waits for an install in progress, stops new ones, and removes every staging area. Call it from
    /// a signal handler's queue (not from signal context), then exit.
    public static func cleanUp() {
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
