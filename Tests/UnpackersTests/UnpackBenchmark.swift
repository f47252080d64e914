import Foundation
import Pipeline
import Testing
import TestSupport
import Unpackers

/// Times `LibarchiveUnpacker` (in process) against `bsdtar -xf` and `unzip -q` (as processes) on the
/// archives `scripts/bench-unpack.sh` makes, which prints the table: wall time, and CPU time (user +
/// system) as "<tool> cpu". Runs are interleaved, so a burst
/// of load on a shared machine lands on all tools alike. Not part of the normal run: without
/// `PKGFETCH_BENCH_ARCHIVES` it is reported as skipped, with this reason.
@Suite("Unpack benchmark (scripts/bench-unpack.sh)", .offPool)
struct UnpackBenchmark {
    static let environment = ProcessInfo.processInfo.environment

    @Test(.enabled(if: environment["PKGFETCH_BENCH_ARCHIVES"] != nil,
                   "runs only from scripts/bench-unpack.sh, which sets PKGFETCH_BENCH_ARCHIVES"))
    func timeEachArchive() async throws {
        let archives = Self.environment["PKGFETCH_BENCH_ARCHIVES", default: ""].split(separator: ":").map(String.init)
        let runs = Int(Self.environment["PKGFETCH_BENCH_RUNS", default: "5"]) ?? 5
        let scratch = Self.environment["PKGFETCH_BENCH_SCRATCH"] ?? NSTemporaryDirectory()
        let target = (scratch as NSString).appendingPathComponent("pkgfetch-bench-out")
        let bsdtar = try Tool.bsdtar()
        let unzip = try Tool.find("unzip", install: "apt-get install unzip")

        var results: [String: [String: [Double]]] = [:]
        for archive in archives {
            let format = ArchiveFormat.infer(fromFileName: archive) ?? .zip
            var tools: [(String, () async throws -> Void)] = [
                ("pkgfetch", { _ = try LibarchiveUnpacker().unpack(archive, format: format, into: target, limits: UnpackLimits()) }),
                ("bsdtar", { try Self.run(bsdtar, ["-xf", archive], in: target) }),
            ]
            if format == .zip { tools.append(("unzip", { try Self.run(unzip, ["-q", archive], in: target) })) }
            // One round more than asked: the first warms the page cache and is not counted.
            for round in 0...runs {
                for (name, unpack) in tools {
                    try? FileManager.default.removeItem(atPath: target)
                    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                    sync()  // the previous run's dirty pages are not this run's cost
                    let cpuBefore = Self.cpuSeconds()
                    let started = ContinuousClock.now
                    try await unpack()
                    let elapsed = ContinuousClock.now - started
                    let cpu = Self.cpuSeconds() - cpuBefore
                    if round > 0 {
                        results[archive, default: [:]][name, default: []]
                            .append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                        results[archive, default: [:]][name + " cpu", default: []].append(cpu)
                    }
                }
                tools.reverse()  // alternate who goes first
            }
            try? FileManager.default.removeItem(atPath: target)
            for (name, seconds) in results[archive, default: [:]].sorted(by: { $0.key < $1.key }) {
                print("pkgfetch-bench: \((archive as NSString).lastPathComponent) \(name): \(seconds.map { String(format: "%.3f", $0) }.joined(separator: " ")) s")
            }
        }
        if let output = Self.environment["PKGFETCH_BENCH_OUT"] {
            try JSONEncoder().encode(results).write(to: URL(fileURLWithPath: output))
        }
    }

    /// User and system time of this process and its waited-for children: on a machine shared with
    /// other work, CPU time moves less than wall time does.
    private static func cpuSeconds() -> Double {
        var own = rusage(), children = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &own)
        getrusage(Int32(RUSAGE_CHILDREN.rawValue), &children)
        return [own.ru_utime, own.ru_stime, children.ru_utime, children.ru_stime]
            .reduce(0) { $0 + Double($1.tv_sec) + Double($1.tv_usec) / 1e6 }
    }

    /// Runs a tool with its output discarded: nothing but the tool itself inside the timed span.
    private static func run(_ executable: String, _ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSetupError(description: "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
    }
}
