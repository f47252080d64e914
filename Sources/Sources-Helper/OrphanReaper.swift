import CSystem
import Foundation
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// Ends what a helper left behind outside its process group. A helper's group is killed when it
/// exits or is stopped, but a process that called `setsid` or `setpgid` is not in it any more, and
/// once its parent exits it would be init's and outlive pkgfetch. The command makes pkgfetch a child
/// subreaper (`adopt`), so such orphans become pkgfetch's children instead; `sweep` then kills every
/// child pkgfetch did not start itself (`StartedChildren`), with its process group when it leads
/// one, and reaps each by pid (never `waitpid(-1)`: other threads reap their own children by pid).
/// Off unless adopted: a library user's process (a test runner with its servers) is not swept.
public enum OrphanReaper {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var adopted = false
    /// Serialises sweeps: one helper's end and the run's end may sweep at once.
    private static let sweeping = NSLock()

    /// How long a sweep goes on once it finds no new orphan (killing one may orphan its children),
    /// and at most in all.
    static let quiet: Duration = .milliseconds(100)
    static let longest: Duration = .seconds(2)

    /// Makes this process a child subreaper and turns sweeps on. Called once by the command at
    /// startup; returns false (and sweeps stay off) where the kernel has no subreapers.
    @discardableResult
    public static func adopt() -> Bool {
        let done = csystem_become_child_subreaper() == 0
        lock.withLock { adopted = done }
        return done
    }

    /// Kills and reaps every child of this process that it did not start itself, until none new
    /// has appeared for `quiet` (at most `longest`). Blocking: run on a thread of its own (a
    /// helper's wait thread, the program's end), never on the cooperative pool.
    public static func sweep() {
        guard lock.withLock({ adopted }), StartedChildren.shared.anyStarted else { return }
        sweeping.withLock {
            let me = getpid()
            let started = ContinuousClock.now
            var lastNew = started
            var seen = Set<pid_t>(), unreaped = Set<pid_t>()
            while true {
                // Held while looking and killing: a child being started now is registered first, or not yet there.
                let orphans = StartedChildren.shared.whileHeld { ours in
                    ProcessStat.children(of: me).filter { !ours.contains($0.pid) }.map { orphan in
                        // A child not yet reaped keeps its pid, and so its group's id: neither names another process.
                        if orphan.group == orphan.pid { _ = kill(-orphan.pid, SIGKILL) }
                        _ = kill(orphan.pid, SIGKILL)
                        return orphan.pid
                    }
                }
                if !Set(orphans).isSubset(of: seen) { lastNew = .now }
                seen.formUnion(orphans)
                unreaped.formUnion(orphans)
                unreaped = unreaped.filter { pid in
                    var status: Int32 = 0
                    let reaped = waitpid(pid, &status, WNOHANG)
                    return reaped == 0 || (reaped < 0 && errno == EINTR)
                }
                let now = ContinuousClock.now
                if (unreaped.isEmpty && lastNew.duration(to: now) >= quiet) || started.duration(to: now) >= longest { return }
                usleep(10_000)
            }
        }
    }
}
