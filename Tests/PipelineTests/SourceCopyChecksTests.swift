import Foundation
import Pipeline
import PipelineTesting
import Testing
import TestSupport

/// What the runner refuses of any fetcher's stream, whatever the backend: a digest the bytes do not
/// have, more bytes than announced, a package over --max-size (announced or not), and a resume
/// answered with another version or from another byte (never spliced onto the staged bytes). Each
/// check is met here on its own, through `SingleSourceRun`, without a server in front of it.
@Suite(.offPool) struct SourceCopyChecksTests {
    let content = TestBodies.random(size: 256 << 10)

    static func run(_ fetcher: any Fetcher, maxSize: Int64? = nil, attempts: Int = 1) -> SingleSourceRun {
        SingleSourceRun(fetcher: fetcher, source: .url("test://store/package.bin"),
                        retry: RetryPolicy(attempts: attempts, initialDelay: .milliseconds(10), perAttemptTimeout: .seconds(30)),
                        maxSize: maxSize)
    }

    static func failure(of run: SingleSourceRun, into directory: TemporaryDirectory) async -> PkgfetchError? {
        await #expect(throws: PkgfetchError.self) { try await run.run(installingTo: directory.join("out")) }
    }

    @Test func aDigestTheSourceAnnouncedThatTheBytesDoNotHaveIsRefused() async throws {
        let directory = try TemporaryDirectory("copy-digest")
        let wrong = try #require(SHA256Digest(String(repeating: "ab", count: 32)))
        let fetcher = ScriptedFetcher(content: content, promise: ExpectedContent(digest: wrong))
        let error = await Self.failure(of: Self.run(fetcher), into: directory)
        #expect(error?.kind == .integrityMismatch, "\(String(describing: error))")
        #expect(error?.message.contains("expected sha256:\(String(repeating: "ab", count: 32))") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: directory.join("out")))

        let right = try #require(SHA256Digest(TestBodies.sha256(of: content)))
        let honest = ScriptedFetcher(content: content, promise: ExpectedContent(digest: right))
        let result = try await Self.run(honest).run(installingTo: directory.join("out"))
        #expect(result.digest == right)
    }

    /// --sha256: the package must have the digest asked, whatever its source said.
    @Test func aPackageWithoutTheDigestAskedIsRefused() async throws {
        let directory = try TemporaryDirectory("copy-sha256")
        var run = Self.run(ScriptedFetcher(content: content))
        run.expectedDigest = SHA256Digest(String(repeating: "cd", count: 32))
        let error = await Self.failure(of: run, into: directory)
        #expect(error?.kind == .integrityMismatch, "\(String(describing: error))")
        #expect(error?.message.contains("expected sha256:\(String(repeating: "cd", count: 32))") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: directory.join("out")))
    }

    /// No size announced: the limit is met as the bytes are written, and the stream stops there.
    @Test func maxSizeStopsAStreamOfNoAnnouncedSizeAsItIsWritten() async throws {
        let directory = try TemporaryDirectory("copy-max-size")
        let fetcher = ChunkedFetcher(chunks: 64, announcing: nil)
        let error = await Self.failure(of: Self.run(fetcher, maxSize: 100_000), into: directory)
        #expect(error?.kind == .integrityMismatch, "--max-size exits 50: \(String(describing: error))")
        #expect(error?.message.contains("larger than the size limit of 100000 bytes (--max-size)") == true, "\(String(describing: error))")
        #expect(fetcher.accepted == 100_000 / ChunkedFetcher.chunk, "the stream stopped at the limit")
        #expect(!FileManager.default.fileExists(atPath: directory.join("out")))
    }

    /// An announced size over the limit is refused before the body is read at all.
    @Test func maxSizeRefusesAnAnnouncedSizeBeforeReadingTheBody() async throws {
        let directory = try TemporaryDirectory("copy-max-size-announced")
        let fetcher = AnnouncingFetcher(content: content)
        let error = await Self.failure(of: Self.run(fetcher, maxSize: 100_000), into: directory)
        #expect(error?.kind == .integrityMismatch, "\(String(describing: error))")
        #expect(error?.message.contains("the package is \(content.count) bytes, larger than the size limit of 100000 bytes") == true,
                "\(String(describing: error))")
        #expect(fetcher.bodiesRead == 0)
    }

    /// A source that sends more than it announced is stopped at the first byte past it.
    @Test func moreBytesThanAnnouncedAreRefused() async throws {
        let directory = try TemporaryDirectory("copy-overflow")
        let fetcher = ChunkedFetcher(chunks: 64, announcing: Int64(10 * ChunkedFetcher.chunk))
        let error = await Self.failure(of: Self.run(fetcher), into: directory)
        #expect(error?.kind == .integrityMismatch, "\(String(describing: error))")
        #expect(error?.message.contains("sent more than the \(10 * ChunkedFetcher.chunk) bytes it announced") == true, "\(String(describing: error))")
        #expect(fetcher.accepted == 10)
    }

    /// A stream cut half-way, resumed: the answer from the offset is of another version. The staged
    /// half is dropped and the new version fetched whole, never the old half with the new tail.
    @Test func aResumeAnsweredWithAnotherVersionStartsOver() async throws {
        var replaced = content
        replaced.replaceSubrange(0..<4096, with: Data(repeating: 0x5A, count: 4096))
        replaced[replaced.count - 1] ^= 0xFF
        let fetcher = ResumingFetcher(old: content, new: replaced, resumeAnswer: .anotherVersion)
        let directory = try TemporaryDirectory("copy-splice")
        let result = try await Self.run(fetcher).run(installingTo: directory.join("out"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.join("out"))) == replaced)
        #expect(fetcher.opens.map(\.offset) == [0, Int64(content.count / 2), 0], "\(fetcher.opens)")
        #expect(result.digest == SHA256Digest(TestBodies.sha256(of: replaced)))
    }

    /// The resume is answered, of the same version, but from another byte than asked: dropped, and
    /// the content fetched again from the start.
    @Test func aResumeAnsweredFromAnotherByteStartsOver() async throws {
        let fetcher = ResumingFetcher(old: content, new: content, resumeAnswer: .anotherOffset)
        let directory = try TemporaryDirectory("copy-offset")
        _ = try await Self.run(fetcher).run(installingTo: directory.join("out"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.join("out"))) == content)
        #expect(fetcher.opens.map(\.offset) == [0, Int64(content.count / 2), 0], "\(fetcher.opens)")
    }
}

/// Writes `chunks` chunks of 4 KiB, announcing `announcing` bytes (or nothing), and counts the
/// writes the runner accepted.
private final class ChunkedFetcher: Fetcher, @unchecked Sendable {
    static let chunk = 4096
    let chunks: Int
    let announcing: Int64?
    private let lock = NSLock()
    private var count = 0

    init(chunks: Int, announcing: Int64?) {
        self.chunks = chunks
        self.announcing = announcing
    }

    var accepted: Int { lock.withLock { count } }

    func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        let chunks = chunks
        return FetchedStream(size: announcing, body: .writer { [self] sink in
            let block = Data(repeating: 0x42, count: Self.chunk)
            for _ in 0..<chunks {
                try sink.write(block)
                lock.withLock { count += 1 }
            }
        })
    }
}

/// Announces the size of `content`, and counts the bodies read.
private final class AnnouncingFetcher: Fetcher, @unchecked Sendable {
    let content: Data
    private let lock = NSLock()
    private var read = 0

    init(content: Data) { self.content = content }

    var bodiesRead: Int { lock.withLock { read } }

    func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        let content = content
        return FetchedStream(size: Int64(content.count), validator: .token("v1"), body: .writer { [self] sink in
            lock.withLock { read += 1 }
            try sink.write(content)
        })
    }
}

/// Serves `old` as version v1, cut half-way on the first open; a resume is answered as `resumeAnswer`
/// says; an open from 0 serves `new` whole, as v2 when it differs from `old`.
private final class ResumingFetcher: Fetcher, @unchecked Sendable {
    enum ResumeAnswer { case anotherVersion, anotherOffset }
    let old: Data
    let new: Data
    let resumeAnswer: ResumeAnswer
    private let lock = NSLock()
    private var log: [FetchRequest] = []

    init(old: Data, new: Data, resumeAnswer: ResumeAnswer) {
        self.old = old
        self.new = new
        self.resumeAnswer = resumeAnswer
    }

    var opens: [FetchRequest] { lock.withLock { log } }

    func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        let count = lock.withLock { () -> Int in
            log.append(request)
            return log.count
        }
        let (old, new) = (self.old, self.new)
        let newVersion: Validator = .token(old == new ? "v1" : "v2")
        let half = old.count / 2
        switch (count, request.offset) {
        case (1, _):
            return FetchedStream(size: Int64(old.count), validator: .token("v1"), body: .writer { sink in
                try sink.write(old.prefix(half))
                throw PkgfetchError(.unavailable, "test: connection cut after \(half) bytes")
            })
        case (_, 0):
            return FetchedStream(size: Int64(new.count), validator: newVersion, body: .bytes(new))
        default:
            switch resumeAnswer {
            case .anotherVersion:
                return FetchedStream(offset: request.offset, size: Int64(new.count), validator: newVersion,
                                     body: .bytes(new.subdata(in: Int(request.offset)..<new.count)))
            case .anotherOffset:
                let start = Int(request.offset) + 1
                return FetchedStream(offset: Int64(start), size: Int64(old.count), validator: .token("v1"),
                                     body: .bytes(old.subdata(in: start..<old.count)))
            }
        }
    }
}
