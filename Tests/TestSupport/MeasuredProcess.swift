import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program and reports what it cost: its own peak resident set (from `wait4`'s rusage, so
/// exactly this child, not whatever else the test process started) and its wall time.
public enum MeasuredProcess {
    public struct Result: Sendable {
        public var status: Int32
        /// Peak resident set size in KiB (`ru_maxrss`).
        public var maxResidentKiB: Int
        public var wallSeconds: Double
        public var stdout: String
        public var stderr: String
    }

    /// Runs `arguments` (the first looked up like `Processes.run`) with the test process's environment.
    public static func run(_ arguments: [String]) throws -> Result {
        let executable = try Tools.path(of: arguments[0])
        let scratch = try TemporaryDirectory("measured")
        let outPath = scratch.join("stdout"), errPath = scratch.join("stderr")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments.dropFirst()).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let started = ContinuousClock.now
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestSupportError("posix_spawn \(executable): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw TestSupportError("wait4: \(String(cString: strerror(errno)))") }
        }
        let wall = started.duration(to: .now)
        // WIFEXITED / WEXITSTATUS, which Swift does not import; a signal shows as 128 + its number.
        let exitStatus: Int32 = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return Result(status: exitStatus, maxResidentKiB: usage.ru_maxrss,
                      wallSeconds: Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18,
                      stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}
