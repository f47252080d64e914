import Foundation
import Pipeline
import PipelineTesting
@testable import SourcesHTTP
import Testing
import TestSupport

/// Resuming an HTTP download, as the runner does it over `HTTPFetcher`, against the fault server:
/// Range (with If-Range) from the original URL, 206 only from N, 200 restarts, never a splice of two versions.
@Suite(.offPool) struct HTTPResumeTests {
    let body = TestBodies.random(size: 4 << 20)

    /// Runs `url` through a runner with the HTTP fetcher; returns the result and the run (for its events).
    /// The stall limit and each attempt's deadline are far from anything a loopback transfer needs, even
    /// on a loaded machine: the requests the server sees are the faults' doing only.
    func fetch(_ url: String, stallTimeout: Duration = .seconds(300), retry: RetryPolicy? = nil,
               in directory: TemporaryDirectory) async throws -> (RunResult, SingleSourceRun) {
        var run = SingleSourceRun(fetcher: HTTPFetcher(transport: CurlTransport(), stallTimeout: stallTimeout), source: .url(url),
                                  retry: RetryPolicy(attempts: 3, initialDelay: .milliseconds(10), perAttemptTimeout: .seconds(300)))
        if let retry { run.retry = retry }
        return (try await run.run(installingTo: directory.join("out")), run)
    }

    @Test func cutTransferResumesWithRangeAndIfRangeAgainstTheOriginalURL() async throws {
        let server = try FaultServer()
        let half = body.count / 2
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: half)])
        let (result, run) = try await fetch(server.url("/pkg.zip?sig=secret"), in: try TemporaryDirectory("http"))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        let requests = server.requests(to: "/pkg.zip")
        try #require(requests.count == 2)
        #expect(requests[0].header("Range") == nil)
        #expect(requests[1].header("Range") == "bytes=\(half)-")
        #expect(requests[1].header("If-Range") == FaultServer.entityTag(of: body))
        #expect(requests[1].target == "/pkg.zip?sig=secret")
        #expect(run.events.events.filter { $0.task == "resume" }.map(\.bytes) == [Int64(half)])
        #expect(run.events.events.first { $0.task == "fetch" }?.status == 206)
    }

    @Test func resumeGoesToTheURLBeforeRedirects() async throws {
        let server = try FaultServer()
        let third = body.count / 3
        server.serve("/signed/pkg.zip", body: body, faults: [.cut(afterBytes: third)])
        server.serve("/pkg.zip", body: Data(), faults: [.redirect(to: server.url("/signed/pkg.zip")),
                                                       .redirect(to: server.url("/signed/pkg.zip"))])
        let (result, _) = try await fetch(server.url("/pkg.zip"), in: try TemporaryDirectory("http"))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        let paths = server.requests().map { "\($0.path) \($0.header("Range") ?? "-")" }
        #expect(paths == ["/pkg.zip -", "/signed/pkg.zip -", "/pkg.zip bytes=\(third)-", "/signed/pkg.zip bytes=\(third)-"])
    }

    @Test func serverIgnoringRangeRestartsFromZero() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: 1_000_000), .ignoreRange])
        let (result, run) = try await fetch(server.url("/pkg.zip"), in: try TemporaryDirectory("http"))
        #expect(result.bytes == Int64(body.count))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        #expect(server.requests(to: "/pkg.zip").map { $0.header("Range") } == [nil, "bytes=1000000-"])
        #expect(run.events.events.first { $0.task == "fetch" }?.status == 200)
    }

    @Test func wrongContentRangeIsDroppedAndTheFileFetchedAgain() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: 1_000_000), .wrongContentRange])
        let (result, run) = try await fetch(server.url("/pkg.zip"), in: try TemporaryDirectory("http"))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        #expect(server.requests(to: "/pkg.zip").map { $0.header("Range") } == [nil, "bytes=1000000-", nil])
        let resumes = run.events.events.filter { $0.task == "resume" }
        #expect(resumes.map(\.bytes) == [1_000_000, 0])
        #expect(resumes.last?.retryReason?.contains("byte 1000001") == true, "\(resumes)")
    }

    @Test func stallCutByTheLowSpeedLimitResumesWithinTheAttempt() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.stall(afterBytes: 65536)])
        // 3 s: long enough that the resumed transfer is not cut too on a loaded machine, far below the
        // attempt's deadline (300 s), so one attempt ("ok" alone) shows the stall limit cut it.
        let (result, run) = try await fetch(server.url("/pkg.zip"), stallTimeout: .seconds(3), in: try TemporaryDirectory("http"))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        #expect(server.requests(to: "/pkg.zip").map { $0.header("Range") } == [nil, "bytes=65536-"])
        #expect(run.events.events.filter { $0.task == "fetch" }.map(\.outcome) == ["ok"])
    }

    /// The file changed on the server while it was being read: the resume names the old version in
    /// If-Range, the server answers with the whole new file, and that is what is installed — not the
    /// old file's first half followed by the new one's second.
    @Test func aFileChangedMidDownloadIsFetchedWholeNotSpliced() async throws {
        let server = try FaultServer()
        let newer = TestBodies.random(size: body.count, seed: 99)
        server.serve("/pkg.zip", body: body, faults: [.cutAndReplace(afterBytes: body.count / 2, body: newer)])
        let (result, _) = try await fetch(server.url("/pkg.zip"), in: try TemporaryDirectory("http"))
        #expect(result.digest.hex == TestBodies.sha256(of: newer))
        let requests = server.requests(to: "/pkg.zip")
        #expect(requests.map { $0.header("If-Range") } == [nil, FaultServer.entityTag(of: body)])
    }

    /// A server that names no versions (no ETag, no Last-Modified) gives nothing to prove the staged
    /// bytes are the file's: a cut download starts over instead of resuming.
    @Test func aServerWithoutValidatorsIsRestartedNotResumed() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: body.count / 2)], validators: false)
        let (result, _) = try await fetch(server.url("/pkg.zip"), in: try TemporaryDirectory("http"))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        #expect(server.requests(to: "/pkg.zip").map { $0.header("Range") } == [nil, nil])
    }

    /// What the first attempt got stays for the next attempt to resume, after a 503 with Retry-After.
    @Test func aLaterAttemptResumesWhatAnEarlierOneGot() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: 1000), .status(503, headers: ["Retry-After": "1"])])
        let retry = RetryPolicy(attempts: 3, initialDelay: .milliseconds(10), maxDelay: .milliseconds(50))
        let (result, run) = try await fetch(server.url("/pkg.zip"), retry: retry, in: try TemporaryDirectory("http"))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        #expect(server.requests(to: "/pkg.zip").map { $0.header("Range") } == [nil, "bytes=1000-", "bytes=1000-"])
        #expect(run.events.events.filter { $0.task == "fetch" }.map { "\($0.outcome) \($0.status.map(String.init) ?? "-")" }
                    == ["retry 503", "ok 206"])
    }

    @Test func aLargeErrorBodyIsNotReadToItsEnd() async throws {
        let server = try FaultServer()
        server.serve("/gone.zip", body: body, faults: [.status(404, body: TestBodies.random(size: 8 << 20))])
        let failure = try await #require(throws: HTTPStatusError.self) {
            _ = try await HTTPStream.open(HTTPRequest(url: server.url("/gone.zip")), offset: 0, ifRange: nil, transport: CurlTransport(),
                                          classification: .http, what: "gone")
        }
        #expect(failure.status == 404)
        #expect(failure.body.count == 64 * 1024)
    }

    @Test func whereAnAnswerStarts() {
        func head(_ status: Int, _ range: String? = nil, length: Int? = nil) -> HTTPResponseHead {
            var headers = HTTPHeaders()
            if let range { headers.add("Content-Range", range) }
            if let length { headers.add("Content-Length", String(length)) }
            return HTTPResponseHead(status: status, headers: headers, url: "http://x/y")
        }
        #expect(HTTPStream.answer(to: head(200, length: 100), offset: 0) == (0, 100))
        #expect(HTTPStream.answer(to: head(200, length: 100), offset: 10) == (0, 100))
        #expect(HTTPStream.answer(to: head(206, "bytes 10-99/100"), offset: 10) == (10, 100))
        #expect(HTTPStream.answer(to: head(206, "bytes 11-99/100"), offset: 10) == (11, 100))
        #expect(HTTPStream.answer(to: head(206), offset: 10) == (-1, nil))
        #expect(HTTPStream.answer(to: head(416, "bytes */100"), offset: 100) == (100, 100))
        #expect(HTTPStream.answer(to: head(416, "bytes */100"), offset: 150) == (150, 100))
        #expect(HTTPStream.answer(to: head(416), offset: 50) == (50, 0))
        // Only a strong validator names the bytes (RFC 9110 §8.8.1): a weak ETag rules out the date too.
        var tagged = HTTPHeaders()
        tagged.add("ETag", "W/\"weak\"")
        tagged.add("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT")
        tagged.add("Date", "Tue, 01 Dec 2026 12:00:00 GMT")
        #expect(HTTPStream.validator(of: HTTPResponseHead(status: 200, headers: tagged, url: "")) == nil)
        tagged.set("ETag", "\"strong\"")
        #expect(HTTPStream.validator(of: HTTPResponseHead(status: 200, headers: tagged, url: "")) == .entityTag("\"strong\""))
        var dated = HTTPHeaders()
        dated.add("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT")
        #expect(HTTPStream.validator(of: HTTPResponseHead(status: 200, headers: dated, url: "")) == nil)
        dated.add("Date", "Tue, 01 Dec 2026 10:00:00 GMT")
        #expect(HTTPStream.validator(of: HTTPResponseHead(status: 200, headers: dated, url: "")) == nil)
        dated.set("Date", "Tue, 01 Dec 2026 10:00:01 GMT")
        #expect(HTTPStream.validator(of: HTTPResponseHead(status: 200, headers: dated, url: "")) == .lastModified("Tue, 01 Dec 2026 10:00:00 GMT"))
    }
}
