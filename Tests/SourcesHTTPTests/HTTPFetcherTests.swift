import Foundation
import Pipeline
import PipelineTesting
@testable import SourcesHTTP
import Testing
import TestSupport

/// The fetcher as the runner sees it: typed errors, the answer's status, the conformance suite.
@Suite(.offPool) struct HTTPFetcherTests {
    let body = TestBodies.random(size: 3 << 20, seed: 3)

    /// Publishes content as paths of a fault server; a new version is a new body at the same path.
    struct Subject: FetcherConformanceSubject {
        let server: FaultServer
        var fetcher: any Fetcher { HTTPFetcher(transport: CurlTransport()) }

        func publish(_ content: Data, as name: String) async throws -> Source {
            server.serve("/\(name)", body: content)
            return .url(server.url("/\(name)?sig=secret"))
        }

        func replace(_ source: Source, with content: Data) async throws {
            server.serve(URLComponents(string: source.location)!.path, body: content)
        }

        func missing() async throws -> Source { .url(server.url("/missing.bin")) }
    }

    @Test func passesTheFetcherConformanceSuite() async throws {
        try await FetcherConformance.check(Subject(server: try FaultServer()))
    }

    /// A deadline no answer from the loopback server comes near, even on a loaded machine.
    func context(_ url: String, deadline: Duration = .seconds(120)) -> FetchContext {
        FetchContext(plan: Plan(rule: "url", package: "pkg", fileName: "pkg.zip", sources: [.url(url)]), attempt: 1,
                     deadline: .now + deadline, events: EventEmitter())
    }

    @Test func notFoundIsHTTPNotFoundAfterOneRequest() async throws {
        let server = try FaultServer()
        let run = SingleSourceRun(fetcher: HTTPFetcher(transport: CurlTransport()), source: .url(server.url("/nothing.zip?sig=secret")))
        let directory = try TemporaryDirectory()
        let failure = try await #require(throws: PkgfetchError.self) { try await run.run(installingTo: directory.join("o")) }
        #expect(failure.kind == .httpNotFound)
        #expect(failure.reason == .notFound)
        #expect(failure.status == 404)
        #expect(!failure.retryable)
        #expect(!failure.message.contains("secret"))
        #expect(server.requests().count == 1)
    }

    @Test func aResumeIsAnEventWithTheCutAnswersStatus() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: 123_456)])
        let run = SingleSourceRun(fetcher: HTTPFetcher(transport: CurlTransport()), source: .url(server.url("/pkg.zip?sig=secret")))
        let directory = try TemporaryDirectory()
        let result = try await run.run(installingTo: directory.join("o"))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        let resume = try #require(run.events.events.first { $0.task == "resume" })
        #expect(run.events.events.filter { $0.task == "resume" }.count == 1)
        #expect(resume.bytes == 123_456)
        #expect(resume.status == 200)
        #expect(resume.source == server.url("/pkg.zip"))
    }

    @Test func serviceUnavailableCarriesRetryAfter() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.status(503, headers: ["Retry-After": "2"])])
        let url = server.url("/pkg.zip")
        let failure = try await #require(throws: PkgfetchError.self) {
            _ = try await HTTPFetcher(transport: CurlTransport()).open(FetchRequest(source: .url(url)), context: context(url))
        }
        #expect(failure.kind == .httpDownloadFailed)
        #expect(failure.reason == .unavailable)
        #expect(failure.retryable)
        #expect(failure.retryAfter == .seconds(2))
        #expect(failure.status == 503)
    }

    @Test func stallFailsAtTheAttemptDeadlineAsATimeout() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.stall(afterBytes: 1000)])
        let run = SingleSourceRun(fetcher: HTTPFetcher(transport: CurlTransport(), stallTimeout: .seconds(300)),
                                  source: .url(server.url("/pkg.zip")), retry: RetryPolicy(attempts: 1, perAttemptTimeout: .seconds(5)))
        let directory = try TemporaryDirectory()
        let started = ContinuousClock.now
        let failure = try await #require(throws: PkgfetchError.self) { try await run.run(installingTo: directory.join("o")) }
        let took = started.duration(to: .now)
        #expect(failure.kind == .networkTimeout)
        // The client waited for the attempt's deadline (5 s; a loaded machine only makes that longer)...
        #expect(took >= .seconds(5), "\(took)")
        // ...and gave up there, not at the stall limit (300 s): timed by the server, with room for a
        // loaded machine. The server notices the close on its next poll (every 100 ms): polled.
        let waitEnd = ContinuousClock.now + .seconds(30)
        while server.requests().first?.ended == nil, ContinuousClock.now < waitEnd { try await Task.sleep(for: .milliseconds(20)) }
        let request = try #require(server.requests().first)
        let gaveUp = request.at.duration(to: try #require(request.ended))
        #expect(gaveUp < .seconds(60), "\(gaveUp)")
        #expect(run.events.events.first { $0.task == "fetch" }?.bytes == 1000)
    }

    /// A chunked answer announces no length, so only the write-time limit can stop it: --max-size
    /// ends the transfer there (exit 50), long before the body's end, and nothing is installed.
    @Test func maxSizeStopsAChunkedAnswerAsItIsWritten() async throws {
        let chunk = Data(repeating: 0x41, count: 64 << 10)
        var chunked = Data()
        for _ in 0..<64 { chunked += Data("\(String(chunk.count, radix: 16))\r\n".utf8) + chunk + Data("\r\n".utf8) }
        chunked += Data("0\r\n\r\n".utf8)
        let encoded = chunked
        let server = try StubHTTPServer { _ in StubResponse(status: 200, headers: [("Transfer-Encoding", "chunked")], body: encoded) }
        var run = SingleSourceRun(fetcher: HTTPFetcher(transport: CurlTransport()), source: .url("\(server.url)/pkg.zip"),
                                  retry: RetryPolicy(attempts: 1, perAttemptTimeout: .seconds(20)))
        run.maxSize = 1 << 20
        let directory = try TemporaryDirectory()
        let failure = try await #require(throws: PkgfetchError.self) { try await run.run(installingTo: directory.join("o")) }
        #expect(failure.kind == .integrityMismatch, "\(failure)")
        #expect(failure.message.contains("larger than the size limit of 1048576 bytes (--max-size)"), "\(failure)")
        #expect(!FileManager.default.fileExists(atPath: directory.join("o")))
    }
}
