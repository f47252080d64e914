import Foundation
import Testing
import TestSupport
@testable import SourcesHelper

/// A helper that escapes its process group (`setsid`, a double fork) leaves nothing running after
/// pkgfetch: its orphans become its keeper's children (a child subreaper, see `ChildProcess`) and are
/// killed and reaped when it exits.
@Suite(.offPool) struct HelperOrphanTests {
    /// How a helper leaves a `sleep` behind, outside its group; the helper waits until the sleep has
    /// escaped (READY exists) before it hangs or exits, so the group kill at its exit cannot win the race.
    static let escapes = [
        "setsid sh -c 'touch READY; exec sleep MARK' >/dev/null 2>&1 &",
        "( setsid sh -c 'sleep MARK >/dev/null 2>&1 & touch READY' & )",
    ]

    /// A helper body: `escape` with its marker and ready file, a wait for the escape, then `then`.
    static func body(_ escape: String, mark: String, in work: TemporaryDirectory, then: String) -> String {
        let ready = work.join("ready")
        return """
        \(escape.replacingOccurrences(of: "MARK", with: mark).replacingOccurrences(of: "READY", with: ready))
        while [ ! -e \(ready) ]; do sleep 0.05; done
        \(then)
        """
    }

    /// A hanging helper that left a daemon ends as a timeout (40) at --timeout; the daemon is gone.
    @Test(.alone, arguments: escapes)
    func aHangingHelpersDaemonIsEnded(_ escape: String) throws {
        let work = try TemporaryDirectory("helper-orphan-hang")
        let helpers = try TestHelpers(in: work)
        let mark = Self.uniqueSleep()
        defer { Self.killEvery(mark) }
        try helpers.write("hang", Self.body(escape, mark: mark, in: work, then: "sleep 300"))
        let (run, took) = try HelperCommandTests.pkgfetch(["fetch", "hang://b/x.bin", "--output", work.join("out"), "--timeout", "2s",
                                                           "--retries", "0", "--helpers-dir", helpers.directory])
        #expect(run.status == 40, "\(run.stderr)")
        // At the 2 s timeout, not at the helper's end (300 s): room for a loaded machine.
        #expect(took < .seconds(60), "took \(took)")
        #expect(Self.running(mark).isEmpty, "left running: \(Self.running(mark))")
        #expect(helpers.survivors().isEmpty)
    }

    /// A helper that succeeds but leaves a daemon: the fetch succeeds (0), and the daemon is gone.
    /// A helper must not leave processes behind; pkgfetch removes what it leaves.
    @Test(arguments: escapes)
    func aSucceedingHelpersDaemonIsEnded(_ escape: String) throws {
        let work = try TemporaryDirectory("helper-orphan-ok")
        let helpers = try TestHelpers(in: work)
        let mark = Self.uniqueSleep()
        defer { Self.killEvery(mark) }
        try helpers.write("daemon", Self.body(escape, mark: mark, in: work, then: "printf hello"))
        let (run, _) = try HelperCommandTests.pkgfetch(["fetch", "daemon://b/x.bin", "--output", work.join("out"),
                                                        "--retries", "0", "--helpers-dir", helpers.directory])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOfFile: work.join("out"), encoding: .utf8) == "hello")
        #expect(Self.running(mark).isEmpty, "left running: \(Self.running(mark))")
    }

    /// A daemon that keeps the helper's stdout open does not keep the fetch waiting for its end: it
    /// is ended when the helper exits, and the content ends there.
    @Test func aDaemonHoldingTheOutputDoesNotHoldTheFetch() throws {
        let work = try TemporaryDirectory("helper-orphan-stdout")
        let helpers = try TestHelpers(in: work)
        let mark = Self.uniqueSleep()
        defer { Self.killEvery(mark) }
        try helpers.write("holder", Self.body("setsid sh -c 'touch READY; exec sleep MARK' 2>/dev/null &", mark: mark, in: work, then: "printf hello"))
        let (run, took) = try HelperCommandTests.pkgfetch(["fetch", "holder://b/x.bin", "--output", work.join("out"), "--timeout", "120s",
                                                           "--retries", "0", "--helpers-dir", helpers.directory])
        // Success shows the fetch did not wait for the 120 s timeout; nor for the daemon (300 s).
        #expect(run.status == 0, "\(run.stderr)")
        #expect(took < .seconds(60), "took \(took)")
        #expect(Self.running(mark).isEmpty, "left running: \(Self.running(mark))")
    }

    /// SIGTERM to pkgfetch while such a helper hangs: exit 130, and the daemon is gone with the helper.
    @Test func aSignalToPkgfetchEndsAHelpersDaemon() throws {
        let work = try TemporaryDirectory("helper-orphan-signal")
        let helpers = try TestHelpers(in: work)
        let mark = Self.uniqueSleep()
        defer { Self.killEvery(mark) }
        try helpers.write("hang", Self.body(Self.escapes[0], mark: mark, in: work, then: "sleep 300"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try PkgfetchCLI.path)
        process.arguments = ["fetch", "hang://b/x.bin", "--output", work.join("x"), "--helpers-dir", helpers.directory]
        process.standardError = FileHandle.nullDevice
        try process.run()
        let until = ContinuousClock.now + .seconds(90)   // polled: long only when the machine is loaded
        while Self.matching(mark).isEmpty, ContinuousClock.now < until { usleep(20_000) }
        #expect(!Self.matching(mark).isEmpty, "the helper never started its daemon")
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(Self.running(mark).isEmpty, "left running: \(Self.running(mark))")
    }

    /// A sleep length no other process has: its argv is the marker looked for in /proc.
    static func uniqueSleep() -> String { "300.\(UInt32.random(in: 100_000_000...999_999_999))" }

    /// Pids of running processes (not zombies) whose argv is `sleep <mark>`, waiting up to 30 s for
    /// them to go (polled: long only when one is left, or the machine is loaded).
    static func running(_ mark: String) -> [Int32] {
        let until = ContinuousClock.now + .seconds(30)
        while true {
            let found = matching(mark).filter(TestHelpers.isRunning)
            if found.isEmpty || ContinuousClock.now >= until { return found }
            usleep(50_000)
        }
    }

    static func matching(_ mark: String) -> [Int32] {
        let wanted = Data("sleep\0\(mark)\0".utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let argv = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return argv.range(of: wanted) != nil
        }
    }

    /// Cleans up after a failing run, so an old build's survivors do not linger for five minutes.
    static func killEvery(_ mark: String) {
        for pid in matching(mark) { kill(pid, SIGKILL) }
    }
}
