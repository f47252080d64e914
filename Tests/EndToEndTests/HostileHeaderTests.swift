import Foundation
import Testing
import TestSupport

/// Header bytes no honest server sends, from any server on the path (CDN, mirror, proxy): a one-line
/// error and a documented exit code, never a crash.
@Suite(.offPool) struct HostileHeaderTests {
    /// The `Retry-After` `make fuzz` found (issue 26): Foundation's DateFormatter trapped on it and the
    /// process died with SIGILL. Read on bytes, it is no date, so the answer is a plain 503.
    @Test func aRetryAfterOfOddBytesIsNoDateAndEndsWithTheHTTPExitCode() async throws {
        var head = Data("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: Wed, 21".utf8)
        head += Data([0xD6, 0xB0, 0x9C, 0x8B]) + Data(" 20".utf8) + Data([0xF6, 0xF6, 0xF6, 0xF6]) + Data("429\r\n\r\n".utf8)
        let server = try RawHTTPServer(response: head)
        let dir = try TemporaryDirectory("e2e-hostile-header")
        let (run, _) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--output", dir.join("pkg.zip"),
                                                    "--retries", "1", "--retry-delay", "10ms"])
        #expect(run.status == 20, "\(run.status): \(run.stderr)")
        #expect(run.stderr.contains("error[http-download-failed]"), "\(run.stderr)")
        // The retry's line, then the error: nothing else (no trap report, no backtrace).
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].contains("attempt 1 of 2 failed") && lines[1].hasPrefix("pkgfetch: error["), "\(run.stderr)")
        #expect(server.requestCount == 2)
        #expect(!FileManager.default.fileExists(atPath: dir.join("pkg.zip")))
    }
}
