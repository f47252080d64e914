import Foundation

/// Runs a program and reports what it cost: its peak resident set and its wall time.
///
/// The peak comes from GNU time (Debian package `time`), which forks the program from its own small
/// process. Spawning it straight from the test process and reading `wait4`'s `ru_maxrss` would not
/// do: posix_spawn shares the parent's address space until exec, and the kernel keeps that high-water
/// mark, so the child would be charged with the test process's own memory.
public enum MeasuredProcess {
    public struct Result: Sendable {
        public var status: Int32
        /// Peak resident set size in KiB (GNU time's `%M`, from the child's `ru_maxrss`).
        public var maxResidentKiB: Int
        public var wallSeconds: Double
        public var stdout: String
        public var stderr: String
    }

    /// Runs `arguments` with `environment` (the test process's own when nil).
    public static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> Result {
        let scratch = try TemporaryDirectory("measured")
        let report = scratch.join("maxrss")
        let executable = try Tools.path(of: arguments[0])
        let started = ContinuousClock.now
        let output = try Processes.run(["time", "-o", report, "-f", "%M", executable] + arguments.dropFirst(),
                                       environment: environment)
        let wall = started.duration(to: .now)
        let text = (try? String(contentsOfFile: report, encoding: .utf8)) ?? ""
        // With a non-zero exit, GNU time writes "Command exited with non-zero status N" first.
        guard let peak = text.split(separator: "\n").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw TestSupportError("no peak RSS from GNU time: '\(text)'; \(output.stderr.prefix(500))")
        }
        return Result(status: output.status, maxResidentKiB: peak,
                      wallSeconds: Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18,
                      stdout: output.stdout, stderr: output.stderr)
    }
}
