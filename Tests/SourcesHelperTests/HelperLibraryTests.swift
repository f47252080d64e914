import Foundation
import Pipeline
import PipelineTesting
import SourcesHelper
import Testing
import TestSupport

/// `HelperFetcher` as a library user runs it: no `pkgfetch` command around it, so no child
/// subreaper and no orphan sweep. What a helper leaves in its process group must still die when the
/// helper exits, and what it announces is still checked.
@Suite(.offPool) struct HelperLibraryTests {
    static func run(_ helper: String, scheme: String) -> SingleSourceRun {
        SingleSourceRun(fetcher: HelperFetcher(executable: helper, relay: { _ in }), source: Source(scheme: scheme, location: "\(scheme)://b/x.bin"),
                        retry: RetryPolicy(attempts: 1, initialDelay: .milliseconds(10), perAttemptTimeout: .seconds(20)))
    }

    /// The helper starts a process in its group (which does not hold its stdout), writes its content
    /// and exits: the fetch succeeds, and the process is gone with the helper.
    @Test func whatAHelperLeavesInItsGroupDiesWhenItExits() async throws {
        let work = try TemporaryDirectory("helper-library-group")
        let helpers = try TestHelpers(in: work)
        defer { for pid in helpers.survivors(waitingUpTo: .zero) { kill(pid, SIGKILL) } }
        let helper = try helpers.write("leaver", """
        sleep 300 </dev/null >/dev/null 2>&1 &
        echo $! >> \(helpers.pidFile)
        printf hello
        """)
        try await Self.run(helper, scheme: "leaver").run(installingTo: work.join("out"))
        #expect(try String(contentsOfFile: work.join("out"), encoding: .utf8) == "hello")
        #expect(helpers.recordedPids == 2)
        #expect(helpers.survivors().isEmpty, "left running: \(helpers.survivors())")
    }

    /// A helper that announces a digest its bytes do not have: integrity-mismatch, nothing installed.
    @Test func aDigestTheHelperAnnouncedIsChecked() async throws {
        let work = try TemporaryDirectory("helper-library-digest")
        let helpers = try TestHelpers(in: work)
        let zeros = String(repeating: "0", count: 64)
        let helper = try helpers.write("liar", """
        printf '{"digest": "sha256:\(zeros)"}\\n' >&3
        printf hello
        """)
        let error = await #expect(throws: PkgfetchError.self) { try await Self.run(helper, scheme: "liar").run(installingTo: work.join("out")) }
        #expect(error?.kind == .integrityMismatch, "\(String(describing: error))")
        #expect(error?.message.contains("expected sha256:\(zeros)") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: work.join("out")))

        let sha = Data("hello".utf8).sha256Hex
        let honest = try helpers.write("honest", """
        printf '{"digest": "sha256:\(sha)", "size": 5}\\n' >&3
        printf hello
        """)
        let result = try await Self.run(honest, scheme: "honest").run(installingTo: work.join("out"))
        #expect(result.digest.hex == sha)
    }

    /// A helper stopped at the attempt's deadline (--timeout) is asked to end with its whole group:
    /// SIGTERM reaches what it started too, not only the helper, before anything is killed. Here
    /// a child cleans up on SIGTERM while the helper waits for it (the command, which kills what is
    /// left as it exits, could not tell this from a SIGTERM to the helper alone).
    @Test func aHelperStoppedAtTheDeadlineIsAskedToEndWithItsGroup() async throws {
        let work = try TemporaryDirectory("helper-library-term")
        let helpers = try TestHelpers(in: work)
        defer { for pid in helpers.survivors(waitingUpTo: .zero) { kill(pid, SIGKILL) } }
        let (ended, ready) = (work.join("ended"), work.join("ready"))
        let helper = try helpers.write("slow", """
        sh -c 'echo $$ >> \(helpers.pidFile); trap "echo asked to end >> \(ended); exit 0" TERM; touch \(ready); while :; do sleep 0.1; done' </dev/null >/dev/null 2>&1 &
        while [ ! -e \(ready) ]; do sleep 0.05; done
        trap 'wait; exit 143' TERM
        sleep 300 </dev/null >/dev/null 2>&1 &
        wait
        """)
        var run = Self.run(helper, scheme: "slow")
        // 10 s: the helper has set its traps by then even on a loaded machine.
        run.retry = RetryPolicy(attempts: 1, initialDelay: .milliseconds(10), perAttemptTimeout: .seconds(10))
        let error = await #expect(throws: PkgfetchError.self) { try await run.run(installingTo: work.join("out")) }
        #expect(error?.kind == .networkTimeout, "\(String(describing: error))")
        #expect(helpers.survivors().isEmpty, "left running: \(helpers.survivors())")
        #expect((try? String(contentsOfFile: ended, encoding: .utf8)) == "asked to end\n", "the helper's child got no SIGTERM")
    }
}
