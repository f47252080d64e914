import Foundation
@testable import Pipeline
import PipelineTesting
@testable import SourcesHTTP
import Testing
import TestSupport

/// A large CDN file over several connections, as the runner fetches it through `HTTPFetcher`, against
/// the fault server: bounded ranges of one version, each segment resumed on its own, one stream when
/// the server does not serve ranges, never a splice of two versions, and the digest still checked.
@Suite(.offPool) struct HTTPRangesTests {
    let body = TestBodies.random(size: 32 << 20)
    /// The body's ETag, once (hashing 32 MiB takes a while in a debug build).
    var tag: String { Self.tag }
    static let tag = FaultServer.entityTag(of: TestBodies.random(size: 32 << 20))
    static let chunk = 2 << 20
    /// The most one range request asks for: a run of chunks.
    static let range = Int(RangedCopy.chunkSize) * RangedCopy.rangeChunks

    /// Fetches `url` over up to `connections` connections; the first stream goes on alone only when
    /// faster than `oneStreamAbove` (never, by default: loopback is fast).
    func fetch(_ url: String, connections: Int = 4, oneStreamAbove: Int64? = nil, expected: Data? = nil, attempts: Int = 3,
               in directory: TemporaryDirectory) async throws -> (RunResult, SingleSourceRun) {
        var run = SingleSourceRun(fetcher: HTTPFetcher(transport: CurlTransport()), source: .url(url))
        run.connections = ConnectionBudget(total: connections, oneStreamAbove: oneStreamAbove)
        run.retry = RetryPolicy(attempts: attempts, initialDelay: .milliseconds(10), perAttemptTimeout: .seconds(30))
        if let expected { run.expectedDigest = SHA256Digest(TestBodies.sha256(of: expected)) }
        return (try await run.run(installingTo: directory.join("out")), run)
    }

    /// `bytes=N-M` as (N, M).
    func range(_ request: FaultServer.Request) -> (Int, Int)? {
        guard let value = request.header("Range"), value.hasPrefix("bytes="), let dash = value.firstIndex(of: "-"),
              let first = Int(value[value.index(value.startIndex, offsetBy: 6)..<dash]),
              let last = Int(value[value.index(after: dash)...]) else { return nil }
        return (first, last)
    }

    @Test func largeFileComesAsBoundedRangesOfOneVersion() async throws {
        let server = try FaultServer()
        server.serve("/big.tar.gz", body: body)
        let directory = try TemporaryDirectory("ranges")
        let (result, run) = try await fetch(server.url("/big.tar.gz"), in: directory)
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        #expect(try Data(contentsOf: URL(fileURLWithPath: result.destination)) == body)
        let requests = server.requests(to: "/big.tar.gz")
        #expect(requests.first?.header("Range") == nil)
        let segments = requests.dropFirst()
        let probe = RangedCopy.earliestCut * Self.chunk
        #expect(segments.allSatisfy { $0.header("If-Range") == tag })
        // The segments cover everything after the first chunk, each byte once.
        let ranges = segments.compactMap(range).sorted { $0.0 < $1.0 }
        #expect(ranges.count == segments.count)
        #expect(ranges.first?.0 == probe, "without a bar to clear, the first stream brings 4 MiB, then is cut")
        #expect(ranges.last?.1 == body.count - 1)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.1 + 1 == $1.0 }, "\(ranges)")
        #expect(ranges.allSatisfy { $0.1 - $0.0 + 1 <= Self.range && ($0.1 - $0.0 + 1) % Self.chunk == 0 }, "\(ranges)")
        #expect(ranges.count < (body.count - probe) / Self.chunk, "runs of chunks, not one request a chunk: \(ranges)")
        #expect(run.events.events.filter { $0.task == "ranges" }.map(\.outcome) == ["4 connections"])
        #expect(run.events.events.filter { $0.task == "fetch" }.map(\.outcome) == ["ok"])
    }

    @Test func cutSegmentIsAskedAgainFromWhereItStopped() async throws {
        let server = try FaultServer()
        server.serve("/big.tar.gz", body: body, faults: [.pass, .cut(afterBytes: 100_000)])
        let (result, run) = try await fetch(server.url("/big.tar.gz"), in: try TemporaryDirectory("ranges"))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        let requests = server.requests(to: "/big.tar.gz")
        let cut = try #require(range(requests[1]))
        // The rest of that segment, and only the rest, was asked again, within the same attempt.
        #expect(requests.dropFirst(2).compactMap(range).contains { $0 == (cut.0 + 100_000, cut.1) }, "\(requests.map { $0.header("Range") })")
        #expect(run.events.events.filter { $0.task == "fetch" }.map(\.outcome) == ["ok"])
    }

    @Test func serverIgnoringRangesIsReadAsOneStream() async throws {
        let server = try FaultServer()
        // It says Accept-Ranges but answers every range with the whole file.
        server.serve("/big.tar.gz", body: body, faults: [.pass] + Array(repeating: .ignoreRange, count: 50))
        let (result, run) = try await fetch(server.url("/big.tar.gz"), in: try TemporaryDirectory("ranges"))
        #expect(result.bytes == Int64(body.count))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        let resumes = run.events.events.filter { $0.task == "resume" }
        #expect(resumes.contains { $0.retryReason?.contains("one stream") == true }, "\(resumes)")
        // After the refusal, no more bounded ranges are asked: one stream to the end.
        let last = try #require(server.requests(to: "/big.tar.gz").last)
        #expect(range(last) == nil)
    }

    /// A segment answered with a 206 of the length asked but from another offset (its Content-Range
    /// says so) is not used: the copy goes on with one stream, and the file is right.
    @Test func segmentFromAnotherOffsetIsNotUsed() async throws {
        let server = try FaultServer()
        server.serve("/big.tar.gz", body: body, faults: [.pass] + Array(repeating: .shiftedRange(by: -1000), count: 50))
        let (result, run) = try await fetch(server.url("/big.tar.gz"), expected: body, in: try TemporaryDirectory("ranges"))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        let resumes = run.events.events.filter { $0.task == "resume" }
        #expect(resumes.contains { $0.retryReason?.contains("one stream") == true }, "\(resumes)")
        // The answer was of the length asked: only its start tells it from the range asked.
        let shifted = try #require(server.requests(to: "/big.tar.gz").dropFirst().first.flatMap(range))
        #expect((shifted.1 - shifted.0 + 1) % Self.chunk == 0 && shifted.1 - shifted.0 + 1 <= Self.range, "\(shifted)")
    }

    /// A segment answered from the offset asked but to the end of the file, not the length asked, is
    /// not used either.
    @Test func segmentOfAnotherLengthIsNotUsed() async throws {
        let server = try FaultServer()
        server.serve("/big.tar.gz", body: body, faults: [.pass] + Array(repeating: .openEndedRange, count: 50))
        let (result, run) = try await fetch(server.url("/big.tar.gz"), expected: body, in: try TemporaryDirectory("ranges"))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        let resumes = run.events.events.filter { $0.task == "resume" }
        // Refused on its Content-Range, before a byte of it is taken (not only once it overflows its chunk).
        #expect(resumes.contains { $0.retryReason?.contains("one stream") == true && $0.retryReason?.contains("the source answered") == true },
                "\(resumes)")
    }

    /// A first stream that brought its first 16 MiB faster than the limit is not capped: it goes on alone.
    @Test func fastFirstStreamGoesOnAlone() async throws {
        let server = try FaultServer()
        server.serve("/big.tar.gz", body: body)
        let (result, run) = try await fetch(server.url("/big.tar.gz"), oneStreamAbove: 1 << 20, in: try TemporaryDirectory("ranges"))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        #expect(server.requests(to: "/big.tar.gz").count == 1)
        #expect(run.events.events.filter { $0.task == "ranges" }.isEmpty)
    }

    @Test func serverWithoutValidatorsGetsOneStream() async throws {
        let server = try FaultServer()
        server.serve("/big.tar.gz", body: body, validators: false)
        let (result, run) = try await fetch(server.url("/big.tar.gz"), in: try TemporaryDirectory("ranges"))
        #expect(result.digest.hex == TestBodies.sha256(of: body))
        #expect(server.requests(to: "/big.tar.gz").count == 1)
        #expect(run.events.events.filter { $0.task == "ranges" }.isEmpty)
    }

    @Test func smallFileGetsOneStream() async throws {
        let server = try FaultServer()
        let small = TestBodies.random(size: 20 << 20)
        server.serve("/small.zip", body: small)
        let (result, _) = try await fetch(server.url("/small.zip"), in: try TemporaryDirectory("ranges"))
        #expect(result.digest.hex == TestBodies.sha256(of: small))
        #expect(server.requests(to: "/small.zip").map { $0.header("Range") } == [nil])
    }

    /// The file is replaced on the server while its segments are fetched: segments of the new version
    /// come back as 200s of the whole new file, and the copy starts over instead of splicing.
    @Test func fileReplacedBetweenSegmentsIsNotSpliced() async throws {
        let server = try FaultServer()
        var replaced = body
        replaced.replaceSubrange(0..<16, with: Data(repeating: 0x5A, count: 16))
        replaced.append(Data(repeating: 7, count: 1000))
        server.serve("/big.tar.gz", body: body, faults: [.pass, .cutAndReplace(afterBytes: 1000, body: replaced)])
        let (result, run) = try await fetch(server.url("/big.tar.gz"), in: try TemporaryDirectory("ranges"))
        #expect(result.digest.hex == TestBodies.sha256(of: replaced))
        #expect(result.bytes == Int64(replaced.count))
        let resumes = run.events.events.filter { $0.task == "resume" }
        #expect(resumes.contains { $0.retryReason?.contains("starting over") == true }, "\(resumes)")
    }

    /// The file is replaced by one of the same size, and the server ignores If-Range: segments come
    /// back as 206s of the new version (its ETag says so). The copy starts over, not splicing them
    /// onto the old version's bytes.
    @Test func segmentsOfANewVersionOfTheSameSizeAreNotSpliced() async throws {
        let server = try FaultServer()
        var replaced = body
        // Changed in the first stream's chunks: only a splice would keep the old ones.
        replaced.replaceSubrange(0..<16, with: Data(repeating: 0x5A, count: 16))
        server.serve("/big.tar.gz", body: body,
                     faults: [.pass, .cutAndReplace(afterBytes: 1000, body: replaced)] + Array(repeating: .ignoreIfRange, count: 50))
        let directory = try TemporaryDirectory("ranges")
        let (result, run) = try await fetch(server.url("/big.tar.gz"), in: directory)
        #expect(try Data(contentsOf: URL(fileURLWithPath: result.destination)) == replaced)
        let resumes = run.events.events.filter { $0.task == "resume" }
        #expect(resumes.contains { $0.retryReason?.contains("starting over") == true }, "\(resumes)")
    }

    @Test func corruptSegmentFailsTheDigest() async throws {
        let server = try FaultServer()
        server.serve("/big.tar.gz", body: body, faults: [.pass, .pass, .corrupt])
        let directory = try TemporaryDirectory("ranges")
        let error = await #expect(throws: PkgfetchError.self) {
            _ = try await fetch(server.url("/big.tar.gz"), expected: body, attempts: 1, in: directory)
        }
        #expect(error?.kind == .integrityMismatch, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: directory.join("out")))
    }
}
