import Foundation
import Pipeline
@testable import SourcesHTTP
import Testing
import TestSupport

/// Resume rules against the fault server: Range from the original URL, 206 only from N, 200 restarts.
@Suite struct ResumableDownloadTests {
    let body = TestBodies.random(size: 4 << 20)

    @Test func cutTransferResumesWithRangeAgainstTheOriginalURL() async throws {
        let server = try FaultServer()
        let half = body.count / 2
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: half)])
        let run = try DownloadRun()
        let head = try await run.run(server.url("/pkg.zip?sig=secret"))
        #expect(head.status == 206)
        #expect(try run.content().sha256 == TestBodies.sha256(of: body))
        let requests = server.requests(to: "/pkg.zip")
        try #require(requests.count == 2)
        #expect(requests[0].header("Range") == nil)
        #expect(requests[1].header("Range") == "bytes=\(half)-")
        #expect(requests[1].target == "/pkg.zip?sig=secret")
        #expect(run.resumes.value.map(\.from) == [Int64(half)])
    }

    @Test func resumeGoesToTheURLBeforeRedirects() async throws {
        let server = try FaultServer()
        let third = body.count / 3
        server.serve("/signed/pkg.zip", body: body, faults: [.cut(afterBytes: third)])
        server.serve("/pkg.zip", body: Data(), faults: [.redirect(to: server.url("/signed/pkg.zip")),
                                                       .redirect(to: server.url("/signed/pkg.zip"))])
        let run = try DownloadRun()
        try await run.run(server.url("/pkg.zip"))
        #expect(try run.content().sha256 == TestBodies.sha256(of: body))
        let paths = server.requests().map { "\($0.path) \($0.header("Range") ?? "-")" }
        #expect(paths == ["/pkg.zip -", "/signed/pkg.zip -", "/pkg.zip bytes=\(third)-", "/signed/pkg.zip bytes=\(third)-"])
    }

    @Test func serverIgnoringRangeRestartsFromZero() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: 1_000_000), .ignoreRange])
        let run = try DownloadRun()
        let head = try await run.run(server.url("/pkg.zip"))
        #expect(head.status == 200)
        let content = try run.content()
        #expect(content.size == Int64(body.count))
        #expect(content.sha256 == TestBodies.sha256(of: body))
        #expect(server.requests(to: "/pkg.zip").map { $0.header("Range") } == [nil, "bytes=1000000-"])
    }

    @Test func wrongContentRangeIsDroppedAndTheFileFetchedAgain() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: 1_000_000), .wrongContentRange])
        let run = try DownloadRun()
        try await run.run(server.url("/pkg.zip"))
        #expect(try run.content().sha256 == TestBodies.sha256(of: body))
        #expect(server.requests(to: "/pkg.zip").map { $0.header("Range") } == [nil, "bytes=1000000-", nil])
        #expect(run.resumes.value.map(\.from) == [1_000_000, 0])
        #expect(run.resumes.value.last?.reason.contains("bytes 1000001-") == true)
    }

    @Test func stallCutByTheLowSpeedLimitResumesWithinTheAttempt() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.stall(afterBytes: 65536)])
        let run = try DownloadRun()
        try await run.run(server.url("/pkg.zip"), stallTimeout: .seconds(1), deadline: .seconds(30))
        #expect(try run.content().sha256 == TestBodies.sha256(of: body))
        #expect(server.requests(to: "/pkg.zip").map { $0.header("Range") } == [nil, "bytes=65536-"])
    }

    @Test func fileAlreadyCompleteIsAcceptedOn416() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body)
        let run = try DownloadRun()
        try body.withUnsafeBytes { try run.file.write($0) }
        let head = try await run.run(server.url("/pkg.zip"))
        #expect(head.status == 416)
        #expect(try run.content().sha256 == TestBodies.sha256(of: body))
        #expect(server.requests(to: "/pkg.zip").count == 1)
    }

    @Test func errorStatusKeepsTheFileAndStopsReadingALargeErrorBody() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: 1000), .status(503, headers: ["Retry-After": "7"])])
        let run = try DownloadRun()
        await #expect(throws: HTTPStatusError.self) { try await run.run(server.url("/pkg.zip")) }
        // What the first response delivered stays for the next attempt to resume.
        #expect(run.file.byteCount == 1000)
        // A large error page is not read to its end: the start is kept for the message, the rest refused.
        server.serve("/gone.zip", body: body, faults: [.status(404, body: TestBodies.random(size: 8 << 20))])
        let failure = try await #require(throws: HTTPStatusError.self) {
            try await DownloadRun().run(server.url("/gone.zip"))
        }
        #expect(failure.status == 404)
        #expect(failure.body.count == 64 * 1024)
    }

    @Test func acceptanceRules() {
        func head(_ status: Int, _ range: String? = nil) -> HTTPResponseHead {
            var headers = HTTPHeaders()
            if let range { headers.add("Content-Range", range) }
            return HTTPResponseHead(status: status, headers: headers, url: "http://x/y")
        }
        #expect(ResumableDownload.accepts(head(200), offset: 0) == .append)
        #expect(ResumableDownload.accepts(head(200), offset: 10) == .restart)
        #expect(ResumableDownload.accepts(head(206, "bytes 10-99/100"), offset: 10) == .append)
        #expect(ResumableDownload.accepts(head(206, "bytes 11-99/100"), offset: 10) == .startOver)
        #expect(ResumableDownload.accepts(head(206), offset: 10) == .startOver)
        #expect(ResumableDownload.accepts(head(206, "bytes 0-99/100"), offset: 0) == .reject)
        #expect(ResumableDownload.accepts(head(416, "bytes */100"), offset: 100) == .complete)
        #expect(ResumableDownload.accepts(head(416, "bytes */100"), offset: 50) == .startOver)
        #expect(ResumableDownload.accepts(head(416), offset: 0) == .reject)
        #expect(ResumableDownload.accepts(head(404), offset: 10) == .reject)
    }
}
