import Foundation
import Pipeline
@testable import SourcesHTTP
import Testing
import TestSupport

/// The fetcher as the runner sees it: typed errors, the answer's status, resumes recorded as events.
@Suite struct HTTPFetcherTests {
    let body = TestBodies.random(size: 3 << 20, seed: 3)

    func fetch(_ url: String, events: CollectingEventSink = CollectingEventSink()) async throws -> (FetchedContent, StagingFile, TemporaryDirectory) {
        let directory = try TemporaryDirectory("fetcher")
        let file = try StagingFile(path: directory.join("staging"))
        let plan = Plan(rule: "url", package: "pkg", fileName: "pkg.zip", sources: [.url(url)])
        let context = FetchContext(plan: plan, attempt: 1, deadline: .now + .seconds(20), events: EventEmitter(sink: events))
        let content = try await HTTPFetcher(transport: CurlTransport()).fetch(.url(url), into: file, context: context)
        return (content, file, directory)
    }

    @Test func notFoundIsHTTPNotFoundAfterOneRequest() async throws {
        let server = try FaultServer()
        let failure = try await #require(throws: PkgfetchError.self) { try await fetch(server.url("/nothing.zip?sig=secret")) }
        #expect(failure.kind == .httpNotFound)
        #expect(failure.status == 404)
        #expect(!failure.retryable)
        #expect(!failure.message.contains("secret"))
        #expect(server.requests().count == 1)
    }

    @Test func contentReportsTheStatusAndAResumeIsAnEvent() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: 123_456)])
        let events = CollectingEventSink()
        let (content, file, _) = try await fetch(server.url("/pkg.zip?sig=secret"), events: events)
        #expect(content.status == 206)
        #expect(try file.finish().digest.hex == TestBodies.sha256(of: body))
        let resume = try #require(events.events.first)
        #expect(events.events.count == 1)
        #expect(resume.task == "http-resume")
        #expect(resume.bytes == 123_456)
        #expect(resume.status == 200)
        #expect(resume.source == server.url("/pkg.zip"))
    }

    @Test func serviceUnavailableCarriesRetryAfter() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.status(503, headers: ["Retry-After": "2"])])
        let failure = try await #require(throws: PkgfetchError.self) { try await fetch(server.url("/pkg.zip")) }
        #expect(failure.kind == .httpDownloadFailed)
        #expect(failure.retryable)
        #expect(failure.retryAfter == .seconds(2))
        #expect(failure.status == 503)
    }

    @Test func stallFailsAtTheAttemptDeadlineAsATimeout() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.stall(afterBytes: 1000)])
        let directory = try TemporaryDirectory("fetcher")
        let file = try StagingFile(path: directory.join("staging"))
        let plan = Plan(rule: "url", package: "pkg", fileName: "pkg.zip", sources: [.url(server.url("/pkg.zip"))])
        let context = FetchContext(plan: plan, attempt: 1, deadline: .now + .seconds(2), events: EventEmitter())
        let failure = try await #require(throws: PkgfetchError.self) {
            try await HTTPFetcher(transport: CurlTransport()).fetch(.url(server.url("/pkg.zip")), into: file, context: context)
        }
        #expect(failure.kind == .networkTimeout)
        // The client gave up at the attempt's deadline (2 s), long before the stall limit (30 s). Timed
        // by the server, so a busy test process cannot blur it.
        // The server notices the close on its next poll (every 100 ms): give it a moment.
        let waitEnd = ContinuousClock.now + .seconds(2)
        while server.requests().first?.ended == nil, ContinuousClock.now < waitEnd { try await Task.sleep(for: .milliseconds(20)) }
        let request = try #require(server.requests().first)
        let gaveUp = request.at.duration(to: try #require(request.ended))
        #expect(gaveUp >= .milliseconds(1500) && gaveUp < .seconds(4), "\(gaveUp)")
        #expect(file.byteCount == 1000)
    }
}
