import Foundation
import Testing
import TestSupport

/// Installs killed at random moments (issue 20): a merge of a package of many small files, killed with
/// SIGKILL mostly while it renames, may leave the destination mixed only until the next pkgfetch run,
/// which rolls it back or finishes it before anything else, and leaves no staging; SIGTERM leaves it
/// old or new at once, and no debris at all. A rename that fails mid-merge undoes the ones before it.
///
/// `PKGFETCH_CRASH_ROUNDS` (default 30), `PKGFETCH_CRASH_FILES` (default 200: the debug build unpacks
/// them in a few tenths of a second) and `PKGFETCH_CRASH_MODES` (default `merge`; also `replace`, `output`) run
/// the kill loops longer by hand, and print the outcomes.
@Suite(.offPool, .serialized) struct MergeCrashTests {
    enum Mode: String, CaseIterable {
        case merge, replace, output
    }

    /// What a destination holds, judged file by file (each file's content says old or new).
    enum State: String {
        case old, new, mixed
    }

    /// A package of many small files, old content for the destination, and the new one cached.
    struct Scene {
        static let files = ProcessInfo.processInfo.environment["PKGFETCH_CRASH_FILES"].flatMap(Int.init) ?? 200
        let work: TemporaryDirectory
        let mode: Mode
        let digest: String
        let archive: String
        var parent: String { work.join("node") }
        var destination: String { work.join("node/bin") }
        var outputFile: String { work.join("node/bin/k.tgz") }
        var cache: String { work.join("cache") }
        /// Every entry the destination holds in each state (path → content).
        let old: [String: String]
        let new: [String: String]

        init(_ mode: Mode) throws {
            self.mode = mode
            work = try TemporaryDirectory("merge-crash")
            let manager = FileManager.default
            try manager.createDirectory(atPath: work.join("tree/sub"), withIntermediateDirectories: true)
            try manager.createDirectory(atPath: work.join("cache"), withIntermediateDirectories: true)
            var packaged = (0..<Self.files).map { String(format: "f%04d", $0) }
            packaged += (0..<50).map { String(format: "n%03d", $0) } + (0..<50).map { String(format: "sub/s%03d", $0) }
            var new: [String: String] = [:]
            for name in packaged {
                new[name] = "new \(name)\n"
                try Data(new[name]!.utf8).write(to: URL(fileURLWithPath: work.join("tree/" + name)))
            }
            try packaged.joined(separator: "\n").write(toFile: work.join("list"), atomically: true, encoding: .utf8)
            archive = work.join("cache/kubernetes-node-linux-amd64.tar.gz")
            try Processes.check(["tar", "-czf", archive, "-C", work.join("tree"), "-T", work.join("list")])
            digest = try Files.sha256(archive)
            var old: [String: String] = [:]
            for name in packaged where !name.hasPrefix("n") { old[name] = "old \(name)\n" }
            for index in 0..<20 { old[String(format: "o%03d", index)] = "old only\n" }
            switch mode {
            case .merge:
                new.merge(old.filter { $0.key.hasPrefix("o") }) { $1 }
            case .replace:
                break
            case .output:
                old = ["k.tgz": "old package"]
                new = ["k.tgz": "sha256:" + digest]
            }
            new["sub"] = mode == .output ? nil : "directory"
            old["sub"] = mode == .output ? nil : "directory"
            self.old = old
            self.new = new
        }

        /// Puts the old content back.
        func resetToOld() throws {
            try? FileManager.default.removeItem(atPath: parent)
            try FileManager.default.createDirectory(atPath: destination + "/sub", withIntermediateDirectories: true)
            for (name, text) in old where text != "directory" {
                try Data(text.utf8).write(to: URL(fileURLWithPath: destination + "/" + name))
            }
            if mode == .output { try FileManager.default.removeItem(atPath: destination + "/sub") }
        }

        var arguments: [String] {
            let target = mode == .output ? ["--output", outputFile] : ["--dest", destination] + (mode == .replace ? ["--replace"] : [])
            return ["fetch", CachePathTests.kubernetesURL, "--cache-dir", cache, "--sha256", digest, "--retries", "0"] + target
        }

        /// The destination's state now: old, new, or mixed (anything else, a missing destination included).
        func state() -> State {
            var found: [String: String] = [:]
            for relative in (try? FileManager.default.subpathsOfDirectory(atPath: destination)) ?? [] where !relative.contains(".pkgfetch") {
                let full = destination + "/" + relative
                if (try? FileManager.default.contentsOfDirectory(atPath: full)) != nil {
                    found[relative] = "directory"
                } else if mode == .output, relative == "k.tgz", let hash = try? Files.sha256(full) {
                    found[relative] = hash == digest ? "sha256:" + digest : (try? String(contentsOfFile: full, encoding: .utf8)) ?? "?"
                } else {
                    found[relative] = (try? String(contentsOfFile: full, encoding: .utf8)) ?? "?"
                }
            }
            return found == old ? .old : found == new ? .new : .mixed
        }

        /// Every `.pkgfetch*` entry beside the destination or inside it, at any depth.
        func debris() -> [String] {
            let beside = ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).filter { $0.hasPrefix(".pkgfetch") }
            let inside = ((try? FileManager.default.subpathsOfDirectory(atPath: destination)) ?? []).filter { $0.contains(".pkgfetch") }
            return beside + inside.map { "bin/" + $0 }
        }

        /// How far a run's install has come: its journal written (the renames begin), or committed.
        func installStep() -> (journaled: Bool, committed: Bool) {
            var step = (journaled: false, committed: false)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix(".pkgfetch-staging-") {
                if FileManager.default.fileExists(atPath: parent + "/" + name + "/install-journal") { step.journaled = true }
                if FileManager.default.fileExists(atPath: parent + "/" + name + "/install-committed") { step.committed = true }
            }
            return step
        }
    }

    /// Starts pkgfetch, and sends `signal` after `delay`; when `afterInstallStarts`, the delay counts
    /// from the moment the install's journal appears. Returns when the process has ended.
    static func killedRun(_ scene: Scene, signal: Int32, delay: Duration, afterInstallStarts: Bool) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try PkgfetchCLI.path)
        process.arguments = scene.arguments
        process.environment = LoopbackCLI.environment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var start = ContinuousClock.now
        if afterInstallStarts {
            while process.isRunning, !scene.installStep().journaled, start.duration(to: .now) < .seconds(60) { usleep(100) }
            start = .now
        }
        while process.isRunning, start.duration(to: .now) < delay { usleep(200) }
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// How long an uninterrupted run takes, and how long its renames (journal written to committed).
    static func calibrate(_ scene: Scene) throws -> (total: Duration, renames: Duration) {
        try scene.resetToOld()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try PkgfetchCLI.path)
        process.arguments = scene.arguments
        process.environment = LoopbackCLI.environment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = ContinuousClock.now
        try process.run()
        var journaled: ContinuousClock.Instant?, committed: ContinuousClock.Instant?
        while process.isRunning, committed == nil {
            let step = scene.installStep()
            if journaled == nil, step.journaled { journaled = .now }
            if step.committed { committed = .now }
            usleep(100)
        }
        process.waitUntilExit()
        let end = ContinuousClock.now
        #expect(process.terminationStatus == 0)
        #expect(scene.state() == .new)
        return (start.duration(to: end), (journaled ?? end).duration(to: committed ?? end))
    }

    /// Outcomes of one kill loop, for the table.
    struct Tally: CustomStringConvertible {
        var rounds = 0
        var rightAfter: [State: Int] = [:]
        var afterNextRun: [State: Int] = [:]
        var debrisAfter = 0
        var finalNew = 0

        var description: String {
            let after = State.allCases.map { "\($0.rawValue) \(afterNextRun[$0] ?? 0)" }.joined(separator: " / ")
            let right = State.allCases.map { "\($0.rawValue) \(rightAfter[$0] ?? 0)" }.joined(separator: " / ")
            return "rounds \(rounds) | right after the signal: \(right) | after the next run: \(after) | debris left: \(debrisAfter) | next full run new: \(finalNew)"
        }
    }

    /// One kill loop: `rounds` runs of `mode` stopped by `signal`, each followed (SIGKILL) by a run that
    /// recovers and fails before installing (`--max-entries 1`), and every fifth by a full run.
    static func killLoop(_ mode: Mode, signal: Int32, rounds: Int) throws -> Tally {
        let scene = try Scene(mode)
        let (total, renames) = try calibrate(scene)
        var random = SystemRandomNumberGenerator()
        var tally = Tally()
        for round in 0..<rounds {
            try scene.resetToOld()
            // Three in four kills land in the install step (for a merge: from its journal to a little
            // after its commit, as long again as the renames took in an uninterrupted run).
            let inInstall = mode == .merge && round % 4 != 0
            let span = inInstall ? renames * 1.5 : total
            let delay = Duration.microseconds(Int64.random(in: 0...max(1, span.microsecondsValue), using: &random))
            let status = try killedRun(scene, signal: signal, delay: delay, afterInstallStarts: inInstall)
            let right = scene.state()
            tally.rounds += 1
            tally.rightAfter[right, default: 0] += 1
            let moment = "round \(round), \(mode) \(signal == SIGKILL ? "SIGKILL" : "SIGTERM") \(inInstall ? "in the install, " : "")after \(delay) (exit \(status))"
            if signal == SIGKILL {
                // A run that touches the destination and fails before installing: it recovers first.
                let recovering = try PkgfetchCLI.run(scene.arguments + ["--max-entries", "1"], environment: LoopbackCLI.environment())
                #expect(recovering.status != 0, "\(moment): \(recovering.stderr)")
                let after = scene.state()
                tally.afterNextRun[after, default: 0] += 1
                #expect(after != .mixed, "\(moment): mixed after the next run (right after the kill: \(right))")
                let left = scene.debris()
                if !left.isEmpty { tally.debrisAfter += 1 }
                #expect(left.isEmpty, "\(moment): \(left)")
                if round % 5 == 0 {
                    let full = try PkgfetchCLI.run(scene.arguments, environment: LoopbackCLI.environment())
                    #expect(full.status == 0, "\(moment): \(full.stderr)")
                    if scene.state() == .new { tally.finalNew += 1 }
                    #expect(scene.state() == .new, "\(moment)")
                    #expect(scene.debris().isEmpty, "\(moment): \(scene.debris())")
                }
            } else {
                tally.afterNextRun[right, default: 0] += 1
                #expect(right != .mixed, "\(moment)")
                let left = scene.debris()
                if !left.isEmpty { tally.debrisAfter += 1 }
                #expect(left.isEmpty, "\(moment): \(left)")
                #expect([0, 130, SIGTERM].contains(status), "\(moment)")
            }
        }
        return tally
    }

    static var rounds: Int { ProcessInfo.processInfo.environment["PKGFETCH_CRASH_ROUNDS"].flatMap(Int.init) ?? 30 }
    static var modes: [Mode] {
        (ProcessInfo.processInfo.environment["PKGFETCH_CRASH_MODES"] ?? "merge").split(separator: ",").compactMap { Mode(rawValue: String($0)) }
    }

    @Test func killedInstallsAreRecoveredByTheNextRun() throws {
        for mode in Self.modes {
            let tally = try Self.killLoop(mode, signal: SIGKILL, rounds: Self.rounds)
            print("kill loop: \(mode) SIGKILL: \(tally)")
        }
    }

    @Test func stoppedInstallsEndOldOrNewWithoutDebris() throws {
        for mode in Self.modes {
            let tally = try Self.killLoop(mode, signal: SIGTERM, rounds: Self.rounds)
            print("kill loop: \(mode) SIGTERM: \(tally)")
        }
    }

    /// A rename that fails in the middle of a merge (an immutable old file, `chattr +i`): the renames
    /// before it are undone, exit 70, and the destination is exactly as it was.
    @Test func aRenameFailingMidMergeRollsBack() throws {
        let chattr = try Tools.path(of: "chattr")
        let scene = try Scene(.merge)
        try scene.resetToOld()
        let stuck = scene.destination + "/f1000"
        try Processes.check([chattr, "+i", stuck])
        defer { _ = try? Processes.run([chattr, "-i", stuck]) }
        let run = try PkgfetchCLI.run(scene.arguments, environment: LoopbackCLI.environment())
        #expect(run.status == 70, "\(run.stderr)")
        #expect(run.stderr.contains("f1000"), "\(run.stderr)")
        #expect(scene.state() == .old)
        #expect(scene.debris().isEmpty, "\(scene.debris())")
        try Processes.check([chattr, "-i", stuck])
        let again = try PkgfetchCLI.run(scene.arguments, environment: LoopbackCLI.environment())
        #expect(again.status == 0, "\(again.stderr)")
        #expect(scene.state() == .new)
    }
}

extension MergeCrashTests.State: CaseIterable {}

extension Duration {
    var microsecondsValue: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}
