import CSystem
import Foundation
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// One running helper executable: the leader of a process group of its own, with its stdout and
/// descriptor 3 as pipes to read and its stderr relayed line by line. Everything it started dies with
/// it: when the leader exits, what is left in its group is killed, and what left the group is swept
/// (`OrphanReaper`); `stop()` ends the whole group (SIGTERM, then SIGKILL after a grace period). A
/// thread of its own waits for the exit, so no thread of the cooperative pool or of `BlockingIO` is
/// held by a helper that runs long.
final class HelperProcess: @unchecked Sendable {
    /// The leader's pid, which is also the group's id.
    let pid: pid_t
    /// Read end of the helper's stdout (the content).
    let output: Int32
    /// Read end of the helper's descriptor 3 (its announcement).
    let announcement: Int32
    /// What the helper is called in messages (`pkgfetch-fetch-<scheme>`).
    let name: String
    /// How long a stopped helper has between SIGTERM and SIGKILL.
    static let grace: Duration = .seconds(2)

    private let lock = NSLock()
    private var exitStatus: Int32?
    private var reaped = false
    private var stopping = false
    private var lastLine = ""
    private var relayDone = false
    private var announcementOpen = true
    private var outputState = OutputState.open

    /// Who has the stdout descriptor: nobody yet, the body reading it (which closes it), or nobody ever.
    private enum OutputState { case open, taken, closed }
    private var waiters: [CheckedContinuation<Int32, Never>] = []
    private let finished = DispatchSemaphore(value: 0)

    /// Starts `executable` with `arguments` and exactly `environment`; `relay` gets each stderr line.
    init(executable: String, arguments: [String], environment: [String: String],
         relay: @escaping @Sendable (String) -> Void) throws {
        name = executable.lastPathComponent
        let out = try Self.pipe(), err = try Self.pipe(), announce = try Self.pipe()
        let argv = [executable] + arguments
        let envp = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var child: pid_t = 0
        var result: Int32 = 0
        StartedChildren.shared.starting {
            result = Self.withCStrings(argv) { argvPointers in
                Self.withCStrings(envp) { envPointers in
                    csystem_spawn_in_group(executable, argvPointers, envPointers, out.write, err.write, announce.write, &child)
                }
            }
            return result == 0 ? child : nil
        }
        for descriptor in [out.write, err.write, announce.write] { close(descriptor) }
        guard result == 0 else {
            for descriptor in [out.read, err.read, announce.read] { close(descriptor) }
            throw PkgfetchError(.noFetcher, "cannot run \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
        output = out.read
        announcement = announce.read
        LiveHelpers.shared.add(self)
        let errRead = err.read
        Thread.detachNewThread { [self] in relayStandardError(errRead, relay) }
        Thread.detachNewThread { [self] in waitForExit() }
    }

    /// The exit status as `waitpid` reports it, once the leader has exited and been reaped.
    func exit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = lock.withLock { () -> Int32? in
                if reaped, relayDone, let exitStatus { return exitStatus }
                waiters.append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// The last line the helper wrote on stderr (printable, at most 300 characters), once it has exited.
    var lastErrorLine: String { lock.withLock { lastLine } }

    /// Closes pkgfetch's end of descriptor 3 once the announcement is read (a helper writing more there gets EPIPE).
    func closeAnnouncement() {
        lock.withLock {
            if announcementOpen { close(announcement) }
            announcementOpen = false
        }
    }

    /// The stdout descriptor, for the one reader that closes it; nil when it was released.
    func takeOutput() -> Int32? {
        lock.withLock {
            guard outputState == .open else { return nil }
            outputState = .taken
            return output
        }
    }

    /// Closes stdout unless a reader took it (a body never read, a failed start).
    func releaseOutput() {
        lock.withLock {
            guard outputState == .open else { return }
            close(output)
            outputState = .closed
        }
    }

    /// Whether `stop()` was called.
    var wasStopped: Bool { lock.withLock { stopping } }

    /// Ends the whole process group: SIGTERM now, SIGKILL after `grace` if the leader is still running.
    /// Returns at once; the exit is reaped by the helper's own thread.
    func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopping = true }
            if !reaped { _ = kill(-pid, SIGTERM) }
            return !stopping
        }
        guard first else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(Self.grace.components.seconds * 1000))) { [self] in
            killGroup()
        }
    }

    /// SIGKILL to the group and waits (at most `timeout`) until the leader is reaped: for the end of the process.
    func stopNow(timeout: DispatchTime) {
        lock.withLock { stopping = true }
        killGroup()
        _ = finished.wait(timeout: timeout)
    }

    /// SIGKILL to the group, unless the leader is reaped (its id might then name another group).
    private func killGroup() {
        lock.withLock { if !reaped { _ = kill(-pid, SIGKILL) } }
    }

    /// Waits for the leader's exit without reaping it, kills what it left in its group while its id
    /// still names that group, then reaps it.
    private func waitForExit() {
        _ = csystem_wait_exited_unreaped(pid)
        var status: Int32 = 0
        lock.withLock {
            _ = kill(-pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            exitStatus = status
            reaped = true
        }
        StartedChildren.shared.reaped(pid)
        LiveHelpers.shared.remove(self)
        finished.signal()
        resumeWaitersIfDone()
        // What left the group (setsid) and is orphaned now is pkgfetch's child: ended here.
        OrphanReaper.sweep()
        // A process that left the group (setsid) may hold stderr open for ever: the exit is not kept
        // waiting for it past a second.
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(1)) { [self] in
            lock.withLock { relayDone = true }
            resumeWaitersIfDone()
        }
    }

    /// Passes each stderr line on as it comes and keeps the last one, until every writer closed it.
    private func relayStandardError(_ descriptor: Int32, _ relay: @Sendable (String) -> Void) {
        defer { close(descriptor) }
        var pending = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        func emit(_ bytes: ArraySlice<UInt8>) {
            let line = String(PrintableLine.escaping(String(decoding: bytes, as: UTF8.self)).prefix(300))
            guard line.contains(where: { !$0.isWhitespace }) else { return }
            lock.withLock { lastLine = line }
            relay(line)
        }
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            pending.append(contentsOf: buffer[0..<count])
            while let newline = pending.firstIndex(of: 0x0A) {
                emit(pending[..<newline])
                pending.removeSubrange(...newline)
            }
            // A line without an end is cut, so a helper cannot make pkgfetch hold unbounded stderr.
            if pending.count > 4096 { emit(pending[...]); pending.removeAll() }
        }
        if !pending.isEmpty { emit(pending[...]) }
        lock.withLock { relayDone = true }
        resumeWaitersIfDone()
    }

    private func resumeWaitersIfDone() {
        let (ready, status) = lock.withLock { () -> ([CheckedContinuation<Int32, Never>], Int32) in
            guard reaped, relayDone, let exitStatus else { return ([], 0) }
            defer { waiters.removeAll() }
            return (waiters, exitStatus)
        }
        for waiter in ready { waiter.resume(returning: status) }
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        guard csystem_pipe_cloexec(&ends) == 0 else {
            throw PkgfetchError(.noFetcher, "cannot create a pipe for a helper: \(String(cString: strerror(errno)))")
        }
        return (ends[0], ends[1])
    }

    private static func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }
}

/// The helpers of this process that have not been reaped, so that the program can end them all
/// before it exits (a helper's group is not pkgfetch's, so a signal to pkgfetch does not reach it).
public final class LiveHelpers: @unchecked Sendable {
    /// The process's helpers.
    public static let shared = LiveHelpers()
    private let lock = NSLock()
    private var helpers: [ObjectIdentifier: HelperProcess] = [:]

    func add(_ helper: HelperProcess) { lock.withLock { helpers[ObjectIdentifier(helper)] = helper } }
    func remove(_ helper: HelperProcess) { lock.withLock { _ = helpers.removeValue(forKey: ObjectIdentifier(helper)) } }

    /// Kills every live helper's process group and waits (up to a second in all) until each is
    /// reaped, then ends what they left outside their groups (`OrphanReaper`).
    public func stopAll() {
        let live = lock.withLock { Array(helpers.values) }
        let until = DispatchTime.now() + .seconds(1)
        for helper in live { helper.stopNow(timeout: until) }
        OrphanReaper.sweep()
    }
}
