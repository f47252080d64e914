import Foundation
@testable import Pipeline
import PipelineTesting
@testable import SourcesHTTP
import Testing
import TestSupport

/// Ranges over several connections are joined only when the server names the bytes with a strong
/// validator (RFC 9110 §8.8.1), and a server that answers a range with more than it asked for is read
/// as one stream, not failed (issue 20, holes 7 and 8).
@Suite(.offPool) struct RangeTrustTests {
    static let first = TestBodies.random(size: 32 << 20, seed: 71)
    static let second = TestBodies.random(size: 32 << 20, seed: 72)

    /// Serves `first` to the first request and `second` to every later one (a file replaced on the
    /// server just after a client began), with `validators` on every answer, honouring `Range`; a
    /// bounded range's answer carries `extra` bytes past its end (its headers say the range).
    final class ReplacingServer: @unchecked Sendable {
        let stub: StubHTTPServer
        private let recorder: Recorder

        init(validators: [(String, String)], extra: Int = 0, replaced: Bool = true) throws {
            let record = Recorder()
            stub = try StubHTTPServer { request in
                let index = record.add(request.header("Range"))
                let body = index == 0 || !replaced ? RangeTrustTests.first : RangeTrustTests.second
                let headers = validators + [("Accept-Ranges", "bytes")]
                guard let range = request.header("Range"), range.hasPrefix("bytes="), let dash = range.firstIndex(of: "-"),
                      let start = Int(range[range.index(range.startIndex, offsetBy: 6)..<dash]) else {
                    return StubResponse(status: 200, headers: headers, body: body)
                }
                let end = Int(range[range.index(after: dash)...]).map { min($0, body.count - 1) }
                let last = end ?? body.count - 1
                var part = body.subdata(in: start..<(last + 1))
                if end != nil { part += Data(repeating: 0xEE, count: extra) }
                return StubResponse(status: 206, headers: headers + [("Content-Range", "bytes \(start)-\(last)/\(body.count)")], body: part)
            }
            recorder = record
        }

        /// The `Range` of each request, in order.
        var ranges: [String?] { recorder.ranges }
        var url: String { stub.url + "/big.tar.gz" }

        /// What the handler saw, shared with it.
        final class Recorder: @unchecked Sendable {
            private let lock = NSLock()
            private var seen: [String?] = []
            func add(_ range: String?) -> Int { lock.withLock { seen.append(range); return seen.count - 1 } }
            var ranges: [String?] { lock.withLock { seen } }
        }
    }

    func fetch(_ url: String, in directory: TemporaryDirectory) async throws -> (RunResult, SingleSourceRun) {
        var run = SingleSourceRun(fetcher: HTTPFetcher(transport: CurlTransport()), source: .url(url))
        run.connections = ConnectionBudget(total: 4, oneStreamAbove: nil)
        run.retry = RetryPolicy(attempts: 2, initialDelay: .milliseconds(10), perAttemptTimeout: .seconds(60))
        return (try await run.run(installingTo: directory.join("out")), run)
    }

    /// Without a strong validator nothing proves two answers are of one version: one stream, the
    /// first version whole, never its head joined to ranges of the second.
    @Test(arguments: [
        ("a weak ETag (and a Last-Modified)", [("ETag", "W/\"same\""), ("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT"),
                                               ("Date", "Tue, 01 Dec 2026 12:00:00 GMT")]),
        ("a Last-Modified of the second it was served", [("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT"),
                                                         ("Date", "Tue, 01 Dec 2026 10:00:00 GMT")]),
        ("a Last-Modified and no Date", [("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT")]),
    ])
    func aWeakValidatorGetsOneStream(what: String, validators: [(String, String)]) async throws {
        let server = try ReplacingServer(validators: validators)
        let (result, run) = try await fetch(server.url, in: try TemporaryDirectory("range-trust"))
        #expect(result.digest.hex == TestBodies.sha256(of: Self.first), "\(what): spliced or replaced")
        #expect(server.ranges == [nil], "\(what): \(server.ranges)")
        #expect(run.events.events.filter { $0.task == "ranges" }.isEmpty, "\(what)")
    }

    /// A strong validator still gets ranges (the If-Range names it).
    @Test func aLastModifiedASecondOlderThanTheAnswerGetsRanges() async throws {
        let server = try ReplacingServer(validators: [("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT"),
                                                      ("Date", "Tue, 01 Dec 2026 10:00:01 GMT")], replaced: false)
        let (result, run) = try await fetch(server.url, in: try TemporaryDirectory("range-trust"))
        #expect(result.digest.hex == TestBodies.sha256(of: Self.first))
        #expect(server.ranges.count > 2, "\(server.ranges)")
        #expect(run.events.events.filter { $0.task == "ranges" }.map(\.outcome) == ["4 connections"])
    }

    /// Each bounded range comes back with 1000 bytes too many: the copy goes on with one stream from
    /// where the file's bytes end, and the file is whole and exact.
    @Test func aRangeAnswerWithMoreBytesThanAskedFallsBackToOneStream() async throws {
        let server = try ReplacingServer(validators: [("ETag", "\"v1\"")], extra: 1000, replaced: false)
        let (result, run) = try await fetch(server.url, in: try TemporaryDirectory("range-trust"))
        #expect(result.digest.hex == TestBodies.sha256(of: Self.first))
        #expect(result.bytes == Int64(Self.first.count))
        let resumes = run.events.events.filter { $0.task == "resume" }
        #expect(resumes.contains { $0.retryReason?.contains("one stream") == true }, "\(resumes)")
        #expect(server.ranges.last??.hasSuffix("-") == true, "the last request is an open-ended range: \(server.ranges)")
        #expect(run.events.events.filter { $0.task == "fetch" }.map(\.outcome) == ["ok"])
    }
}
