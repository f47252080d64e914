import Foundation
import Testing
import TestSupport

/// A server that is down is never met with silence: each retry is a line on stderr, and the final
/// error says how many attempts were made and for how long. `--quiet` silences the retry lines.
@Suite(.offPool) struct RetryReportingTests {
    let body = TestBodies.random(size: 4096, seed: 24)

    /// Three 503s with `--retries 2`: every attempt fails.
    private func runAgainstAServerThatIsDown(_ extra: [String]) async throws -> ProcessOutput {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: Array(repeating: .status(503), count: 3))
        let dir = try TemporaryDirectory("e2e-retry-lines")
        let (run, _) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--output", dir.join("pkg.zip"),
                                                    "--retries", "2", "--retry-delay", "20ms"] + extra)
        #expect(server.requests(to: "/pkg.zip").count == 3)
        #expect(run.status != 0)
        return run
    }

    @Test func eachRetryIsALineAndTheFinalErrorCountsTheAttempts() async throws {
        let run = try await runAgainstAServerThatIsDown([])
        let lines = run.stderr.split(separator: "\n").map(String.init)
        let retries = lines.filter { $0.contains("retrying in") }
        #expect(retries.count == 2, "\(run.stderr)")
        #expect(retries.first?.hasPrefix("pkgfetch: attempt 1 of 3 failed: error[") == true, "\(run.stderr)")
        #expect(retries.last?.hasPrefix("pkgfetch: attempt 2 of 3 failed: error[") == true, "\(run.stderr)")
        #expect(retries.allSatisfy { $0.contains("503") }, "what failed is named: \(run.stderr)")
        // Rounded: `20 ms`, `9.8 s`, never `0.0149571474 seconds`.
        #expect(retries.allSatisfy { $0.wholeMatch(of: /.* retrying in [0-9]+(\.[0-9])? (ms|s)/) != nil }, "\(run.stderr)")
        let final = try #require(lines.last)
        #expect(final.hasPrefix("pkgfetch: error["), "\(run.stderr)")
        #expect(final.wholeMatch(of: /.*\(gave up after 3 attempts in [0-9]+(\.[0-9])? (ms|s)\)/) != nil, "\(run.stderr)")
        #expect(lines.count == 3, "two retry lines and the error, nothing else: \(run.stderr)")
    }

    @Test func quietLeavesOnlyTheError() async throws {
        let run = try await runAgainstAServerThatIsDown(["--quiet"])
        #expect(!run.stderr.contains("retrying in"), "\(run.stderr)")
        #expect(run.stderr.contains("(gave up after 3 attempts in "), "\(run.stderr)")
    }

    /// A batch's runner is built as fetch's is: its retries are lines too.
    @Test func aBatchEntryRetriesAreLinesToo() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: Array(repeating: .status(503), count: 3))
        let dir = try TemporaryDirectory("e2e-retry-lines-batch")
        let list = dir.join("list.json")
        try JSONSerialization.data(withJSONObject: [["url": server.url("/pkg.zip"), "output": dir.join("pkg.zip")]])
            .write(to: URL(fileURLWithPath: list))
        let environment = LoopbackCLI.environment()
        let run = try await offPool {
            try PkgfetchCLI.run(["batch", list, "--retries", "2", "--retry-delay", "20ms"], environment: environment)
        }
        #expect(run.status != 0)
        #expect(run.stderr.split(separator: "\n").filter { $0.contains("retrying in") }.count == 2, "\(run.stderr)")
    }
}
