import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The child processes pkgfetch started itself and has not reaped yet (helpers, credential helpers),
/// so that the sweep for orphans (`OrphanReaper` in SourcesHelper) never kills or reaps one of them:
/// every other child of pkgfetch is a process orphaned below one of them.
///
/// A spawner starts its child inside `starting`, which holds the registry while the child is created
/// and registered: a sweep, which holds it while it looks, sees the child registered or not at all.
/// It calls `reaped` only after its own `waitpid` (or Foundation's, for a `Process`) returned:
/// a zombie left unregistered would be reaped by the sweep, and its status lost to its spawner.
/// An in-process backend that starts processes of its own does the same.
public final class StartedChildren: @unchecked Sendable {
    /// The process's registry.
    public static let shared = StartedChildren()
    private let lock = NSLock()
    private var pids = Set<pid_t>()
    private var everStarted = false

    /// Runs `start`, which starts one child and returns its pid (nil when it started none), and
    /// registers that pid.
    public func starting(_ start: () throws -> pid_t?) rethrows {
        try lock.withLock {
            guard let pid = try start() else { return }
            pids.insert(pid)
            everStarted = true
        }
    }

    /// Forgets `pid`, once its spawner has reaped it.
    public func reaped(_ pid: pid_t) {
        lock.withLock { _ = pids.remove(pid) }
    }

    /// Whether any child was ever started (a run that started none has no orphans to look for).
    public var anyStarted: Bool { lock.withLock { everStarted } }

    /// Runs `body` with the registered pids, holding the registry so no child is started meanwhile.
    public func whileHeld<T>(_ body: (Set<pid_t>) throws -> T) rethrows -> T {
        try lock.withLock { try body(pids) }
    }
}
