import Foundation
import Testing
import TestSupport

/// `--progress`: plain lines on stderr when asked, nothing by default under a pipe or with `none`.
@Suite(.offPool) struct ProgressTests {
    func publish() throws -> (String, String) {
        let nginx = try Nginx.shared()
        let name = "progress-\(UUID().uuidString.prefix(8)).zip"
        try Files.writeRandom(nginx.file(name), size: 20 << 20, seed: 61)
        return (nginx.url("/\(name)"), name)
    }

    @Test func plainPrintsLinesOnStderr() async throws {
        let (url, name) = try publish()
        let dir = try TemporaryDirectory("progress")
        let (run, _) = try await LoopbackCLI.fetch([url, "--output", dir.join("pkg.zip"), "--progress", "plain"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0.hasPrefix(name) && $0.contains("/s") })
        #expect(lines.last?.contains("20.0 MiB / 20.0 MiB 100%") == true, "\(run.stderr)")
        #expect(!run.stderr.contains("\r") && !run.stderr.contains("\u{1B}"))
    }

    @Test(arguments: [["--progress", "none"], ["--progress", "auto"], []])
    func nothingUnderAPipeOrWithNone(flags: [String]) async throws {
        let (url, _) = try publish()
        let dir = try TemporaryDirectory("progress")
        let (run, _) = try await LoopbackCLI.fetch([url, "--output", dir.join("pkg.zip")] + flags)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.isEmpty, "\(run.stderr)")
    }
}
