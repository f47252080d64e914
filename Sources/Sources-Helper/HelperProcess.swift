import CSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// One running helper executable (a `ChildProcess`: a process group of its own, below a keeper that
/// ends whatever it leaves behind), with its stdout and descriptor 3 as pipes to read and its stderr
/// relayed line by line. `stop()` ends the whole group (SIGTERM, then SIGKILL after a grace period).
final class HelperProcess: @unchecked Sendable {
    /// The process, whose pid is also its group's id.
    let child: ChildProcess
    /// Read end of the helper's stdout (the content).
    let output: Int32
    /// Read end of the helper's descriptor 3 (its announcement).
    let announcement: Int32
    /// What the helper is called in messages (`pkgfetch-fetch-<scheme>`).
    var name: String { child.name }

    private let lock = Lock()
    private var lastLine = ""
    private var relayDone = false
    private var announcementOpen = true
    private var outputState = OutputState.open

    /// Who has the stdout descriptor: nobody yet, the body reading it (which closes it), or nobody ever.
    private enum OutputState { case open, taken, closed }
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Starts `executable` with `arguments` and exactly `environment`; `relay` gets each stderr line.
    init(executable: String, arguments: [String], environment: [String: String],
         relay: @escaping @Sendable (String) -> Void) throws {
        // Counted from before the fork: a helper can be running (and a signal handled) before the
        // spawn returns, and `stopAll` must not miss it.
        guard LiveHelpers.shared.beginSpawn() else {
            throw PkgfetchError(.interrupted, "not starting \(executable): pkgfetch is stopping")
        }
        var spawned = false
        defer { if !spawned { LiveHelpers.shared.endSpawn() } }
        let out = try Self.pipe(), err = try Self.pipe(), announce = try Self.pipe()
        let reads = [out.read, err.read, announce.read]
        defer { for descriptor in [out.write, err.write, announce.write] { close(descriptor) } }
        do {
            child = try ChildProcess(executable: executable, arguments: arguments, environment: environment,
                                     descriptors: [-1, out.write, err.write, announce.write],
                                     failure: { PkgfetchError(.noFetcher, "cannot run \(executable): \($0)") })
        } catch {
            for descriptor in reads { close(descriptor) }
            throw error
        }
        output = out.read
        announcement = announce.read
        spawned = true
        LiveHelpers.shared.add(self)
        let errRead = err.read
        DetachedThread.start { [self] in relayStandardError(errRead, relay) }
        DetachedThread.start { [self] in
            // A process that left the group (setsid) may hold stderr open until the keeper ends it; the
            // exit is not kept waiting for the relay past a second after it.
            _ = child.waitForExit(until: .now + .seconds(86_400 * 365))
            LiveHelpers.shared.remove(self)
            DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(1)) { [self] in
                lock.withLock { relayDone = true }
                resumeWaitersIfDone()
            }
        }
    }

    /// The exit status as `waitpid` reports it, once the helper has exited and its stderr is relayed.
    /// Cancelling the waiting task stops the helper.
    func exit() async -> Int32 {
        let status = await child.exit()
        await withCheckedContinuation { continuation in
            let done = lock.withLock { () -> Bool in
                if relayDone { return true }
                waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        return status
    }

    /// As `exit()`, or nil when the helper still runs at `deadline` (it is stopped then).
    func exit(until deadline: ContinuousClock.Instant) async -> Int32? {
        guard await child.exit(until: deadline) != nil else { return nil }
        return await exit()
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
    var wasStopped: Bool { child.wasStopped }

    /// Ends the whole process group: SIGTERM now, SIGKILL after the grace period. Returns at once.
    func stop() { child.stop() }

    /// SIGKILL to the group and waits (at most `timeout`) until it has exited: for the end of the process.
    func stopNow(timeout: DispatchTime) { child.stopNow(timeout: timeout) }

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
        let ready = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            guard relayDone else { return [] }
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in ready { waiter.resume() }
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        guard let ends = ChildProcess.pipe() else {
            throw PkgfetchError(.noFetcher, "cannot create a pipe for a helper: \(String(cString: strerror(errno)))")
        }
        return ends
    }
}

/// The helpers of this process that have not been reaped, so that the program can end them all
/// before it exits (a helper's group is not pkgfetch's, so a signal to pkgfetch does not reach it).
public final class LiveHelpers: @unchecked Sendable {
    /// The process's helpers.
    public static let shared = LiveHelpers()
    private let lock = Lock()
    private var helpers: [ObjectIdentifier: HelperProcess] = [:]
    /// Spawns begun and not yet registered (or failed).
    private var spawning = 0
    /// Set by `stopAll`: no helper starts after it.
    private var stopping = false

    /// Counts a spawn about to begin; false once `stopAll` has begun (then nothing may start).
    func beginSpawn() -> Bool {
        lock.withLock {
            if stopping { return false }
            spawning += 1
            return true
        }
    }

    /// A spawn that failed: nothing to register.
    func endSpawn() { lock.withLock { spawning -= 1 } }

    /// Registers a spawned helper (ending its spawn); one registered after `stopAll` began is ended at once.
    func add(_ helper: HelperProcess) {
        let late = lock.withLock { () -> Bool in
            spawning -= 1
            helpers[ObjectIdentifier(helper)] = helper
            return stopping
        }
        if late { helper.stopNow(timeout: .now() + .seconds(1)) }
    }

    func remove(_ helper: HelperProcess) { lock.withLock { _ = helpers.removeValue(forKey: ObjectIdentifier(helper)) } }

    /// Refuses new helpers, waits (up to a second) for spawns under way to register, kills every live
    /// helper's process group and waits (up to a second in all) until each has exited and its keeper
    /// has ended what it left behind. A helper can be running before its spawn returns: a signal
    /// handled in that window would otherwise leave it, and its keeper, running after pkgfetch ends.
    public func stopAll() {
        lock.withLock { stopping = true }
        let registered = DispatchTime.now() + .seconds(1)
        while lock.withLock({ spawning > 0 }), DispatchTime.now() < registered { usleep(1_000) }
        let live = lock.withLock { Array(helpers.values) }
        let until = DispatchTime.now() + .seconds(1)
        for helper in live { helper.stopNow(timeout: until) }
    }
}
