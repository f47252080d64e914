import Foundation
import Pipeline
import PipelineTesting
import Testing
import TestSupport

/// Stopping is a value the program owns: a stopped switch ends its runs cleanly, and leaves runs with
/// another switch — later installs in the same process — alone.
@Suite(.offPool) struct InterruptionValueTests {
    /// Stops `interruption` while its stream is open, as a signal arriving mid-download does.
    struct StoppingFetcher: Fetcher {
        let interruption: Interruption
        func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
            interruption.stop()
            return FetchedStream(body: .bytes(Data("new".utf8)))
        }
    }

    @Test func aStoppedSwitchEndsItsRunAndLeavesLaterRunsAlone() async throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.join("out"), withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir.join("out/pkg.tar.gz")))
        let stopped = Interruption()
        var runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": StoppingFetcher(interruption: stopped)])
        runner.interruption = stopped
        let failure = await #expect(throws: PkgfetchError.self) {
            try await runner.run(PackageRequest(url: "x", target: .file(path: dir.join("out/pkg.tar.gz"))))
        }
        #expect(failure?.kind == .interrupted)
        #expect(stopped.isStopped)
        #expect(try String(contentsOfFile: dir.join("out/pkg.tar.gz"), encoding: .utf8) == "old")
        #expect(Files.stagingDirectories(in: dir.join("out")).isEmpty)

        // A later run in the same process, with a switch of its own, installs as usual.
        let later = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()])
        _ = try await later.run(PackageRequest(url: "x", target: .file(path: dir.join("out/pkg.tar.gz"))))
        #expect(try String(contentsOfFile: dir.join("out/pkg.tar.gz"), encoding: .utf8) == "package bytes")
        #expect(!later.interruption.isStopped)
    }
}
