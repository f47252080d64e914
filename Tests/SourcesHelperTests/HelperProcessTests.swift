import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// pkgfetch ends what its helpers leave behind and nothing else, and a helper that lingers never
/// holds up the rest of a run (issue 20, holes 3 and 4).
@Suite(.offPool) struct HelperProcessTests {
    /// `bash -c 'sleep … & exec pkgfetch …'`: the shell's job becomes pkgfetch's child, and a job
    /// started under `set -m` leads a process group; both were killed by the orphan sweep when a helper
    /// ended. pkgfetch did not start them: they outlive it.
    @Test func processesPkgfetchInheritedAreLeftAlone() throws {
        let work = try TemporaryDirectory("helper-inherited")
        let helpers = try TestHelpers(in: work)
        try helpers.write("quick", "printf hello")
        let (job, grouped) = (HelperOrphanTests.uniqueSleep(), HelperOrphanTests.uniqueSleep())
        defer {
            HelperOrphanTests.killEvery(job)
            HelperOrphanTests.killEvery(grouped)
        }
        // The jobs close every descriptor but 0-2: the test's Foundation `Process` waits for one it
        // passes to close, and would wait for the sleeps.
        let script = """
        closefds() { for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done; }
        ( closefds; exec sleep \(job) ) >/dev/null 2>&1 &
        set -m
        ( closefds; exec sh -c 'sleep \(grouped) & sleep \(grouped)' ) >/dev/null 2>&1 &
        set +m
        exec "$0" fetch quick://b/x.bin --output \(work.join("out")) --helpers-dir \(helpers.directory)
        """
        let run = try Processes.run(["bash", "-c", script, try PkgfetchCLI.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOfFile: work.join("out"), encoding: .utf8) == "hello")
        #expect(HelperOrphanTests.matching(job).filter(TestHelpers.isRunning).count == 1, "the shell's background job was killed")
        #expect(HelperOrphanTests.matching(grouped).filter(TestHelpers.isRunning).count == 2, "the inherited process group was killed")
    }

    /// `batch` with one connection: a helper that closes stdout without a byte and lingers held the
    /// connection for good (the attempt ended at its deadline, but its task still awaited the exit,
    /// which nothing stopped), and the packages after it never got one. Its exit is waited for until
    /// the attempt's deadline only; it is stopped then, and the others are fetched.
    @Test func aHelperThatClosesItsOutputAndLingersDoesNotStarveTheOthers() throws {
        let work = try TemporaryDirectory("helper-linger")
        let helpers = try TestHelpers(in: work)
        try helpers.write("linger", "exec >&-\nsleep 300")
        let server = try FaultServer()
        server.serve("/a.bin", body: Data("first".utf8))
        server.serve("/b.bin", body: Data("second".utf8))
        let list: [[String: String]] = [["url": "linger://b/x.bin", "output": work.join("linger")],
                                        ["url": server.url("/a.bin"), "output": work.join("a")],
                                        ["url": server.url("/b.bin"), "output": work.join("b")]]
        try JSONSerialization.data(withJSONObject: list).write(to: URL(fileURLWithPath: work.join("list")))
        let (run, _) = try HelperCommandTests.pkgfetch(["batch", work.join("list"), "--parallel", "1", "--connections", "1", "--retries", "0", "--timeout", "2s",
                                                        "--retry-delay", "10ms", "--deadline", "60s", "--helpers-dir", helpers.directory],
                                                       environment: ["http_proxy": "", "HTTP_PROXY": "", "no_proxy": "*"])
        #expect(run.status == 40, "\(run.stderr)")
        #expect(run.stderr.contains("error[network-timeout]: package 1 (linger://b/x.bin)"), "\(run.stderr)")
        #expect(server.requests(to: "/a.bin").count == 1 && server.requests(to: "/b.bin").count == 1, "\(server.requests().map(\.path))")
        #expect(try String(contentsOfFile: work.join("a"), encoding: .utf8) == "first")
        #expect(try String(contentsOfFile: work.join("b"), encoding: .utf8) == "second")
        #expect(!FileManager.default.fileExists(atPath: work.join("linger")))
        #expect(helpers.recordedPids == 1)
        #expect(helpers.survivors().isEmpty)
    }

    /// pkgfetch as PID 1 of a PID namespace (a container's entry point) is handed every orphan of the
    /// namespace: a process another one started there (`nsenter`) and left behind was killed when a
    /// helper ended. It is none of pkgfetch's: it runs on while pkgfetch does.
    @Test func asPID1AnOrphanItWasHandedIsLeftAlone() throws {
        try #require(geteuid() == 0, "a PID namespace needs root: run the tests as root (as CI does)")
        let work = try TemporaryDirectory("helper-pid1")
        let helpers = try TestHelpers(in: work)
        let (first, second) = (work.join("go-first"), work.join("go-second"))
        try helpers.write("first", "while [ ! -e \(first) ]; do sleep 0.05; done\nprintf one")
        try helpers.write("second", "while [ ! -e \(second) ]; do sleep 0.05; done\nprintf two")
        let list: [[String: String]] = [["url": "first://b/x", "output": work.join("one")], ["url": "second://b/x", "output": work.join("two")]]
        try JSONSerialization.data(withJSONObject: list).write(to: URL(fileURLWithPath: work.join("list")))
        let mark = HelperOrphanTests.uniqueSleep()
        defer { HelperOrphanTests.killEvery(mark) }
        let container = Process()
        container.executableURL = URL(fileURLWithPath: try Tools.path(of: "unshare"))
        container.arguments = ["--pid", "--fork", "--mount-proc", try PkgfetchCLI.path, "batch", work.join("list"), "--parallel", "1",
                               "--helpers-dir", helpers.directory, "--quiet"]
        container.standardOutput = FileHandle.nullDevice
        container.standardError = FileHandle.nullDevice
        try container.run()
        defer {
            for file in [first, second] { FileManager.default.createFile(atPath: file, contents: nil) }
            container.waitUntilExit()
        }
        // pkgfetch is unshare's child, PID 1 inside; the first helper runs once it has recorded its pid.
        let started = ContinuousClock.now
        var init1: Int32?
        while init1 == nil || helpers.recordedPids < 1, ContinuousClock.now < started + .seconds(30) {
            init1 = (try? String(contentsOfFile: "/proc/\(container.processIdentifier)/task/\(container.processIdentifier)/children",
                                 encoding: .utf8)).flatMap { Int32($0.split(separator: " ").first ?? "") }
            usleep(20_000)
        }
        let pkgfetch = try #require(init1, "pkgfetch did not start in its namespace")
        try #require(helpers.recordedPids >= 1, "the first helper did not start")
        // Another process of the namespace leaves a sleep behind: the namespace's init, pkgfetch, gets it.
        let closing = "for fd in $(ls /proc/$BASHPID/fd); do [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\" 2>/dev/null; done"
        // (Its mount namespace too, so that /proc there numbers processes as the namespace does.)
        let entered = try Processes.run(["nsenter", "--target", String(pkgfetch), "--pid", "--mount", "--", "bash", "-c",
                                         "( \(closing); exec sleep \(mark) ) >/dev/null 2>&1 &"])
        try #require(entered.status == 0, "\(entered.stderr)")
        try #require(HelperOrphanTests.matching(mark).count == 1, "no orphan was left in the namespace")
        // The first helper ends (the old sweep ran then), the second starts.
        FileManager.default.createFile(atPath: first, contents: nil)
        while helpers.recordedPids < 2, ContinuousClock.now < started + .seconds(60) { usleep(20_000) }
        try #require(helpers.recordedPids == 2, "the second helper did not start")
        usleep(1_000_000)
        #expect(HelperOrphanTests.matching(mark).filter(TestHelpers.isRunning).count == 1, "pkgfetch killed an orphan it did not start")
        FileManager.default.createFile(atPath: second, contents: nil)
        container.waitUntilExit()
        #expect(container.terminationStatus == 0)
        #expect(try String(contentsOfFile: work.join("one"), encoding: .utf8) == "one")
        #expect(try String(contentsOfFile: work.join("two"), encoding: .utf8) == "two")
    }
}
