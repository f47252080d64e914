#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// Fetches a source by running `pkgfetch-fetch-<scheme> <location>` (see `HelperProtocol`): the
/// helper's stdout is the content, read by the runner like any other stream, so verification, size
/// limits, retries, progress, events, staging and install are the built-in path's. This type only
/// starts the helper, reads its announcement, and turns its exit status into a failure reason. The
/// helper is stopped (its whole process group) when the runner gives up on the attempt.
public struct HelperFetcher: Fetcher {
    /// The executable, as found (checked again, and resolved, before each run).
    public let executable: String
    /// The environment every run starts from (see `HelperProtocol.passedByDefault`).
    let environment: [String: String]
    /// Gets each line the helper writes on stderr, prefixed with its name.
    let relay: @Sendable (String) -> Void

    /// A fetcher running `executable`. `passing` names variables of pkgfetch's environment the helper
    /// also gets (beyond `LANG`, `LC_ALL`, `TMPDIR`, `TZ`; `HOME` is the effective user's own, see
    /// `HelperProtocol.home`); `relay` gets its stderr lines.
    public init(executable: String, passing names: [String] = [], from processEnvironment: [String: String] = ProcessInfo.processInfo.environment,
                relay: @escaping @Sendable (String) -> Void) {
        self.executable = executable
        var environment = ["PATH": HelperProtocol.searchPath]
        for name in HelperProtocol.passedByDefault + names { environment[name] = processEnvironment[name] }
        environment["HOME"] = HelperProtocol.home
        self.environment = environment
        self.relay = relay
    }

    /// Runs the helper for `request` and returns its stdout as the stream, with what it announced.
    public func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        let (executable, relay) = (self.executable, self.relay)
        let name = executable.lastPathComponent
        let environment = HelperProtocol.environment(base: environment, request: request, context: context)
        // Checking the path walks directories and spawning forks: blocking work, kept off the cooperative pool.
        let process = try await BlockingIO.shared.run {
            try HelperProcess(executable: try HelperSafety.checked(executable), arguments: [request.source.location],
                              environment: environment, relay: { relay("\(name): \($0)") })
        }
        let opening: Opening
        do {
            // On a thread of its own, not BlockingIO's: a helper may take the whole attempt to start,
            // and a batch's other packages need those threads meanwhile.
            opening = try await withTaskCancellationHandler {
                try await BlockingIO.runOnOwnThread(named: "helper-open") { try Opening.read(process, until: context.deadline) }
            } onCancel: {
                process.stop()
            }
        } catch {
            process.stop()
            process.releaseOutput()
            throw error
        }
        if opening.outputEnded || process.wasStopped {
            // Nothing on stdout, and it is closed: the helper is done, or failing.
            do {
                try Self.check(await Self.exit(of: process, until: context.deadline), of: process, source: request.source)
            } catch {
                process.releaseOutput()
                throw error
            }
        }
        let announced = opening.announcement
        return FetchedStream(offset: announced?.offset ?? 0, size: announced?.size, digest: announced?.digest.flatMap(SHA256Digest.init),
                             validator: announced?.version.map(Validator.token), body: Self.body(of: process, until: context.deadline))
    }

    /// The helper's stdout, read to its end by the runner; then its exit status decides whether the
    /// bytes count. Whatever ends the delivery early (a limit, the deadline) stops the helper.
    private static func body(of process: HelperProcess, until deadline: ContinuousClock.Instant) -> FetchedBody {
        .writer(onCancel: { process.stop(); process.releaseOutput() }) { sink in
            guard let output = process.takeOutput() else { throw PkgfetchError(.cancelled, "\(process.name) was stopped") }
            do {
                try await FetchedBody.descriptor(output, name: process.name).deliver(into: sink)
            } catch {
                process.stop()
                _ = await process.exit()
                throw error
            }
            try check(await exit(of: process, until: deadline), of: process, source: nil)
        }
    }

    /// The helper's exit status, waited for at most until the attempt's deadline (and not past the
    /// task's cancellation): a helper that closed its stdout but lingers is stopped then, and its slot
    /// (a connection, a batch's turn) is free again.
    private static func exit(of process: HelperProcess, until deadline: ContinuousClock.Instant) async throws -> Int32 {
        guard let status = await process.exit(until: deadline) else {
            throw PkgfetchError(.timeout, "\(process.name) closed its output but had not exited by the attempt's deadline")
        }
        return status
    }

    /// Throws the failure a helper's wait status stands for, with its last stderr line as the message.
    private static func check(_ status: Int32, of process: HelperProcess, source: Source?) throws {
        if process.wasStopped { throw PkgfetchError(.cancelled, "\(process.name) was stopped") }
        guard let reason = HelperProtocol.reason(forWaitStatus: status) else { return }
        let line = process.lastErrorLine
        let said = line.isEmpty ? "" : ": \(line)"
        throw PkgfetchError(reason, "\(process.name) failed (\(HelperProtocol.describe(waitStatus: status)))\(said)", scheme: source?.scheme)
    }
}

/// What the start of a helper's run showed: its announcement (if it made one before its first byte)
/// and whether its stdout closed with nothing on it.
struct Opening {
    var announcement: HelperAnnouncement?
    var outputEnded = false

    /// Waits (blocking, at most until `deadline`) for the announcement on descriptor 3, the first byte
    /// on stdout, or both closing: a helper that never announces is not waited for.
    static func read(_ process: HelperProcess, until deadline: ContinuousClock.Instant) throws -> Opening {
        defer { process.closeAnnouncement() }
        var line = Data()
        var announcing = true
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { throw PkgfetchError(.timeout, "\(process.name) neither announced nor wrote anything before the attempt's deadline") }
            // Once an announcement has begun, only its descriptor is watched: content waiting on stdout
            // would otherwise make every poll return at once, and the loop spin until the line ends.
            var fds = [pollfd(fd: announcing ? process.announcement : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: line.isEmpty ? process.output : -1, events: Int16(POLLIN), revents: 0)]
            let milliseconds = Int32(min(left.milliseconds + 1, 1000))
            let ready = poll(&fds, 2, milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw PkgfetchError(.unavailable, "\(process.name): poll failed: \(String(cString: strerror(errno)))")
            }
            if announcing, fds[0].revents != 0 {
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = chunk.withUnsafeMutableBytes { Glibc.read(process.announcement, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count > 0 { line.append(contentsOf: chunk[0..<count]) }
                if let newline = line.firstIndex(of: 0x0A) {
                    return Opening(announcement: try HelperAnnouncement.parse(line[..<newline], helper: process.name))
                }
                if line.count > 4096 { throw PkgfetchError(.rejected, "\(process.name) announced more than 4096 bytes without a line end") }
                if count <= 0 {
                    // Descriptor 3 closed: an announcement without its line end still counts.
                    if !line.isEmpty { return Opening(announcement: try HelperAnnouncement.parse(line, helper: process.name)) }
                    announcing = false
                }
                continue
            }
            // Bytes of an announcement already begun are waited for, even when content is there too.
            if !line.isEmpty { continue }
            if fds[1].revents & Int16(POLLIN) != 0 { return Opening() }
            if fds[1].revents != 0 { return Opening(outputEnded: true) }
        }
    }
}
