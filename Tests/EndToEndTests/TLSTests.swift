import Foundation
import Testing
import TestSupport

/// TLS through the CLI against nginx with a certificate from a test CA.
@Suite(.offPool) struct TLSTests {
    let body = TestBodies.random(size: 2_000_000, seed: 51)

    func publish() throws -> (Nginx, String) {
        let nginx = try Nginx.sharedTLS()
        let name = "tls-\(UUID().uuidString.prefix(8)).zip"
        try body.write(to: URL(fileURLWithPath: nginx.file(name)))
        return (nginx, nginx.url("/\(name)"))
    }

    @Test func untrustedCertificateFailsWithoutRetrying() async throws {
        let (_, url) = try publish()
        let dir = try TemporaryDirectory("tls")
        let (run, _) = try await LoopbackCLI.fetch([url, "--output", dir.join("pkg.zip"), "--retries", "3", "--retry-delay", "10ms",
                                                   "--events", dir.join("events.jsonl")])
        #expect(run.status == 20, "\(run.stderr)")
        #expect(run.stderr.contains("error[http-download-failed]"))
        let fetches = try EventLines(dir.join("events.jsonl")).task("fetch")
        #expect(fetches.map { $0["outcome"] as? String } == ["failed"])
        #expect(!FileManager.default.fileExists(atPath: dir.join("pkg.zip")))
    }

    @Test func caFileMakesItTrusted() async throws {
        let (nginx, url) = try publish()
        let dir = try TemporaryDirectory("tls")
        let (run, _) = try await LoopbackCLI.fetch([url, "--output", dir.join("pkg.zip"), "--ca-file", try #require(nginx.certificates).caFile])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("pkg.zip")) == TestBodies.sha256(of: body))
        #expect(!run.stderr.contains("warning"))
    }

    @Test func insecureSucceedsAndSaysVerificationIsOff() async throws {
        let (_, url) = try publish()
        let dir = try TemporaryDirectory("tls")
        let (run, _) = try await LoopbackCLI.fetch([url, "--output", dir.join("pkg.zip"), "--insecure"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("pkg.zip")) == TestBodies.sha256(of: body))
        #expect(run.stderr.contains("--insecure: TLS certificates are not verified"))
    }
}
