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

        /// Whether a run's install has committed (pkgfetch's journal, renamed at its commit point).
        func committed() -> Bool {
            ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).contains {
                $0.hasPrefix(".pkgfetch-staging-") && FileManager.default.fileExists(atPath: parent + "/" + $0 + "/install-committed")
            }
        }

        /// When the destination directory last changed (a rename into it changes it).
        func destinationChanged() -> timespec {
            var info = stat()
            guard lstat(destination, &info) == 0 else { return timespec() }
            return info.st_mtim
        }
    }

    /// Where in a run a signal is aimed.
    enum Step: String {
        /// Anywhere from the start.
        case anywhere
        /// While the archive is unpacked into staging (the tree there has entries, nothing renamed yet).
        case unpack
        /// From the first rename into the destination on (which changes the directory's modification time).
        case install
    }

    /// Whether `step` has begun in the run installing into `scene`, as seen from outside.
    static func begun(_ step: Step, _ scene: Scene, destinationBefore: timespec) -> Bool {
        switch step {
        case .anywhere:
            return true
        case .unpack:
            return ((try? FileManager.default.contentsOfDirectory(atPath: scene.parent)) ?? []).contains { name in
                name.hasPrefix(".pkgfetch-staging-") && !((try? FileManager.default.contentsOfDirectory(atPath: scene.parent + "/" + name + "/tree")) ?? []).isEmpty
            }
        case .install:
            return scene.destinationChanged() != destinationBefore
        }
    }

    static func start(_ scene: Scene) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try PkgfetchCLI.path)
        process.arguments = scene.arguments
        process.environment = LoopbackCLI.environment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Starts pkgfetch, and sends `signal` `delay` after `step` has begun. Returns its exit status once it has ended.
    static func killedRun(_ scene: Scene, signal: Int32, at step: Step, delay: Duration) throws -> Int32 {
        let before = scene.destinationChanged()
        let process = try start(scene)
        var start = ContinuousClock.now
        while process.isRunning, !begun(step, scene, destinationBefore: before), start.duration(to: .now) < .seconds(60) { usleep(100) }
        start = .now
        while process.isRunning, start.duration(to: .now) < delay { usleep(100) }
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// How long each step lasts in an uninterrupted run: until the run's end for `anywhere` and
    /// `install`, until the first rename for `unpack`.
    static func calibrate(_ scene: Scene) throws -> [Step: Duration] {
        try scene.resetToOld()
        let before = scene.destinationChanged()
        let begin = ContinuousClock.now
        let process = try start(scene)
        var unpacking: ContinuousClock.Instant?, renaming: ContinuousClock.Instant?, committed: ContinuousClock.Instant?
        while process.isRunning {
            if unpacking == nil, begun(.unpack, scene, destinationBefore: before) { unpacking = .now }
            if renaming == nil, begun(.install, scene, destinationBefore: before) { renaming = .now }
            if committed == nil, scene.committed() { committed = .now }
            usleep(100)
        }
        process.waitUntilExit()
        let end = ContinuousClock.now
        #expect(process.terminationStatus == 0)
        #expect(scene.state() == .new)
        // The install step ends at a merge's commit marker, where there is one (the renames are done).
        return [.anywhere: begin.duration(to: end), .unpack: (unpacking ?? end).duration(to: renaming ?? end),
                .install: (renaming ?? end).duration(to: committed ?? end)]
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
    /// recovers and fails before installing (`--max-size 1`), and every fifth by a full run.
    static func killLoop(_ mode: Mode, signal: Int32, rounds: Int) throws -> Tally {
        let scene = try Scene(mode)
        let spans = try calibrate(scene)
        var random = SystemRandomNumberGenerator()
        var tally = Tally()
        for round in 0..<rounds {
            try scene.resetToOld()
            // SIGKILL: three in four in a merge's install step (its renames). SIGTERM: half in the
            // unpack (whose writers must be stopped before staging goes), a quarter in the install.
            let steps: [Step] = mode != .merge ? [.anywhere] : signal == SIGKILL ? [.anywhere, .install, .install, .install]
                : [.anywhere, .unpack, .install, .unpack]
            let step = steps[round % steps.count]
            // A quarter past the install's commit too: a kill after it must be finished, not undone.
            let span = spans[step, default: .zero] * (step == .install ? 1.25 : 1)
            let delay = Duration.microseconds(Int64.random(in: 0...max(1, span.microsecondsValue), using: &random))
            let status = try killedRun(scene, signal: signal, at: step, delay: delay)
            let right = scene.state()
            tally.rounds += 1
            tally.rightAfter[right, default: 0] += 1
            let moment = "round \(round), \(mode) \(signal == SIGKILL ? "SIGKILL" : "SIGTERM") \(delay) into the \(step) step (exit \(status))"
            if signal == SIGKILL {
                // A run that touches the destination and fails before installing (every source is
                // larger than --max-size): it recovers first.
                let recovering = try PkgfetchCLI.run(scene.arguments + ["--max-size", "1"], environment: LoopbackCLI.environment())
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
        let name = String(format: "f%04d", Scene.files / 2)
        let stuck = scene.destination + "/" + name
        try Processes.check([chattr, "+i", stuck])
        defer { _ = try? Processes.run([chattr, "-i", stuck]) }
        let run = try PkgfetchCLI.run(scene.arguments, environment: LoopbackCLI.environment())
        #expect(run.status == 70, "\(run.stderr)")
        #expect(run.stderr.contains(name), "\(run.stderr)")
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

extension timespec: @retroactive Equatable {
    public static func == (a: timespec, b: timespec) -> Bool { a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec }
}
