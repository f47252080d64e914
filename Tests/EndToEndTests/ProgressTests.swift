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

    /// A `//` before a one-character non-ASCII file name (`…//é`) made Foundation's path methods trap:
    /// first in the resolver, then in the progress label (found by fuzzing). Fetched and labelled now.
    @Test func aDoubleSlashBeforeANonASCIINameIsFetchedWithItsLabel() async throws {
        let nginx = try Nginx.shared()
        let folder = "progress-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: nginx.file(folder), withIntermediateDirectories: true)
        try Files.writeRandom(nginx.file(folder + "/\u{E9}"), size: 1 << 20, seed: 62)
        let dir = try TemporaryDirectory("progress-name")
        let (run, _) = try await LoopbackCLI.fetch([nginx.url("/\(folder)//\u{E9}"), "--output", dir.join("pkg"), "--progress", "plain"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").last?.hasPrefix("\u{E9} ") == true, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("pkg")) == (try Files.sha256(nginx.file(folder + "/\u{E9}"))))
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
