import CSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// A process pkgfetch starts (a fetch helper, a credential helper), the one way they are started:
/// the leader of a process group of its own, with exactly the descriptors given, below a keeper
/// process (`csystem_spawn_kept`). Everything it starts ends with it: when it exits, the keeper kills
/// what is left in its group and every process that escaped the group (`setsid`, a double fork: the
/// kernel hands such orphans to the keeper, a child subreaper), then reports the exit. So pkgfetch
/// never adopts, kills or reaps a process it did not start (a job of the shell that exec'd it, a
/// process it inherited, an orphan it gets as PID 1 in a container).
///
/// A thread of its own waits for the exit, so no thread of the cooperative pool or of `BlockingIO`
/// is held by a process that runs long; waiting for it is cancellable and bounded.
package final class ChildProcess: @unchecked Sendable {
    /// The process's pid, which is also its group's id.
    package let pid: pid_t
    /// What it is called in messages (the executable's name).
    package let name: String
    /// How long a stopped process has between SIGTERM and SIGKILL.
    package static let grace: Duration = .seconds(2)

    private let keeper: pid_t
    private let lock = Lock()
    private var status: Int32?
    private var stopping = false
    private var waiters: [CheckedContinuation<Int32, Never>] = []
    private let finished = DispatchSemaphore(value: 0)

    /// Starts `executable` with `arguments` and exactly `environment`; descriptor i of the process is
    /// `descriptors[i]` (-1: /dev/null), every other one is closed. Throws `failure` with the reason
    /// when it cannot be started. `ended` is called once, on the waiting thread, after it exited.
    package init(executable: String, arguments: [String], environment: [String: String], descriptors: [Int32],
                failure: (String) -> PkgfetchError, ended: @escaping @Sendable () -> Void = {}) throws {
        name = executable.lastPathComponent
        let argv = [executable] + arguments
        let envp = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var (keeper, child, report): (pid_t, pid_t, Int32) = (0, 0, -1)
        let result = Self.withCStrings(argv) { argvPointers in
            Self.withCStrings(envp) { envPointers in
                descriptors.withUnsafeBufferPointer { sources in
                    csystem_spawn_kept(executable, argvPointers, envPointers, sources.baseAddress, Int32(sources.count),
                                       &keeper, &child, &report)
                }
            }
        }
        guard result == 0 else { throw failure(String(cString: strerror(result))) }
        self.keeper = keeper
        pid = child
        DetachedThread.start { [self, report] in
            var status: Int32 = 0
            _ = csystem_kept_wait(self.keeper, report, &status)
            close(report)
            lock.withLock { self.status = status }
            finished.signal()
            ended()
            let ready = lock.withLock { () -> [CheckedContinuation<Int32, Never>] in
                defer { waiters.removeAll() }
                return waiters
            }
            for waiter in ready { waiter.resume(returning: status) }
        }
    }

    /// The wait status once the process exited and what it left was ended. Cancelling the waiting
    /// task stops the process (and so ends the wait).
    package func exit() async -> Int32 {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let known = lock.withLock { () -> Int32? in
                    if let status { return status }
                    waiters.append(continuation)
                    return nil
                }
                if let known { continuation.resume(returning: known) }
            }
        } onCancel: {
            stop()
        }
    }

    /// The wait status, or nil when the process is still running at `deadline`; then it is stopped,
    /// so the wait ends with it (at most `grace` later), and whoever awaits `exit()` gets its status.
    package func exit(until deadline: ContinuousClock.Instant) async -> Int32? {
        let expired = Expiry()
        let timer = Task { [self] in
            try await Task.sleep(until: deadline, clock: .continuous)
            if !hasExited {
                expired.set()
                stop()
            }
        }
        defer { timer.cancel() }
        let status = await exit()
        return expired.isSet ? nil : status
    }

    /// Whether a wait's deadline passed with the process still running.
    private final class Expiry: @unchecked Sendable {
        private let lock = Lock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }

    /// Blocks until the process exited, or until `deadline` (then nil). For a thread of its own.
    package func waitForExit(until deadline: ContinuousClock.Instant) -> Int32? {
        let left = ContinuousClock.now.duration(to: deadline)
        let nanoseconds = max(0, left.components.seconds) * 1_000_000_000 + max(0, left.components.attoseconds / 1_000_000_000)
        guard finished.wait(timeout: .now() + .nanoseconds(Int(min(nanoseconds, Int64(Int.max))))) == .success else { return nil }
        finished.signal()
        return lock.withLock { status }
    }

    /// Whether the process exited.
    package var hasExited: Bool { lock.withLock { status != nil } }

    /// Whether `stop()` was called.
    package var wasStopped: Bool { lock.withLock { stopping } }

    /// Ends the whole process group: SIGTERM now, SIGKILL after `grace` if it is still running.
    /// Returns at once. Only the first call signals: a second SIGTERM would cut short the clean-up
    /// the first one started (a shell's `trap '…; wait' TERM` returns from its wait on the second).
    package func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopping = true }
            if status == nil, !stopping { _ = kill(-pid, SIGTERM) }
            return !stopping
        }
        guard first else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(Self.grace.components.seconds * 1000))) { [self] in
            killGroup()
        }
    }

    /// SIGKILL to the group and waits (at most until `timeout`) for the exit: for the end of the program.
    package func stopNow(timeout: DispatchTime) {
        lock.withLock { stopping = true }
        killGroup()
        if finished.wait(timeout: timeout) == .success { finished.signal() }
    }

    /// SIGKILL to the group, unless the process was reported ended (its id might then name another group).
    private func killGroup() {
        lock.withLock { if status == nil { _ = kill(-pid, SIGKILL) } }
    }

    /// A pipe whose two ends are close-on-exec from the start, so no process another thread starts
    /// meanwhile inherits them; nil (errno set) when none can be made.
    package static func pipe() -> (read: Int32, write: Int32)? {
        var ends: [Int32] = [0, 0]
        guard csystem_pipe_cloexec(&ends) == 0 else { return nil }
        return (ends[0], ends[1])
    }

    private static func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }
}
