import Crypto
import Foundation
import Pipeline
import PipelineTesting
import Testing
import TestSupport

/// `file` sources: a cache hit or a `file://` URL.
@Suite(.offPool) struct FileFetcherTests {
    /// Publishes content as files in a directory; a new version is a new file renamed over the old.
    struct Subject: FetcherConformanceSubject {
        let directory: TemporaryDirectory
        var fetcher: any Fetcher { FileFetcher() }

        func publish(_ content: Data, as name: String) async throws -> Source {
            try content.write(to: URL(fileURLWithPath: directory.join(name)))
            return Source(scheme: "file", location: directory.join(name))
        }

        func replace(_ source: Source, with content: Data) async throws {
            // Written beside it, then renamed over it (Foundation's .atomic would do the same through
            // a directory of its own in TMPDIR, which it leaves behind).
            let next = source.location + ".next"
            try content.write(to: URL(fileURLWithPath: next))
            guard rename(next, source.location) == 0 else { throw TestSupportError("cannot rename \(next): errno \(errno)") }
        }

        func missing() async throws -> Source { Source(scheme: "file", location: directory.join("missing.bin")) }
    }

    /// The same files, read by another fetcher (one that breaks the contract, or does more).
    struct OtherFetcher: FetcherConformanceSubject {
        var subject: Subject
        var fetcher: any Fetcher
        func publish(_ content: Data, as name: String) async throws -> Source { try await subject.publish(content, as: name) }
        func replace(_ source: Source, with content: Data) async throws { try await subject.replace(source, with: content) }
        func missing() async throws -> Source { try await subject.missing() }
    }

    @Test func passesTheFetcherConformanceSuite() async throws {
        let directory = try TemporaryDirectory("file-conformance")
        // Removed here, not when the last reference goes: that was sometimes after the process had ended.
        defer { try? FileManager.default.removeItem(atPath: directory.path) }
        try await FetcherConformance.check(Subject(directory: directory))
    }

    /// A fetcher that claims to start where asked but always sends the file from byte 0.
    struct ClaimsTheOffset: Fetcher {
        func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
            var stream = try await FileFetcher().open(FetchRequest(source: request.source), context: context)
            stream.offset = request.offset
            return stream
        }
    }

    /// A fetcher that names no version: nothing it delivered can be resumed.
    struct NoValidator: Fetcher {
        func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
            var stream = try await FileFetcher().open(request, context: context)
            stream.validator = nil
            return stream
        }
    }

    /// The suite fails a fetcher that breaks the contract, and says which check and why.
    @Test(arguments: [("cut then resume", "sent more than the 3145728 bytes it announced"), ("cut then resume", "a stream needs a validator")])
    func theSuiteCatchesABrokenFetcher(check: String, message: String) async throws {
        let directory = try TemporaryDirectory("broken-fetcher")
        let fetcher: any Fetcher = message.contains("validator") ? NoValidator() : ClaimsTheOffset()
        let failure = await #expect(throws: ConformanceFailure.self) {
            try await FetcherConformance.check(OtherFetcher(subject: Subject(directory: directory), fetcher: fetcher))
        }
        #expect(failure?.check == check)
        #expect(failure?.message.contains(message) == true, "\(String(describing: failure))")
    }

    /// A fetcher that starts a process for every stream it opens and never ends it, as a careless
    /// backend that shells out might: the process carries the attempt's `PKGFETCH_FILE_NAME`, as a
    /// helper's children do.
    final class LeavesAProcess: Fetcher, @unchecked Sendable {
        private let lock = NSLock()
        private var started: [pid_t] = []

        func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
            var pid: pid_t = 0
            let arguments: [UnsafeMutablePointer<CChar>?] = (["sleep", "60"] as [String]).map { strdup($0) } + [nil]
            let environment: [UnsafeMutablePointer<CChar>?] = (["PKGFETCH_FILE_NAME=\(context.plan.fileName)"] as [String]).map { strdup($0) } + [nil]
            defer { for pointer in arguments + environment { free(pointer) } }
            guard posix_spawn(&pid, "/bin/sleep", nil, nil, arguments, environment) == 0 else { throw TestSupportError("cannot start /bin/sleep") }
            lock.withLock { started.append(pid) }
            return try await FileFetcher().open(request, context: context)
        }

        func endAll() {
            for pid in lock.withLock({ started }) {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
    }

    @Test func theSuiteCatchesAFetcherThatLeavesAProcessRunning() async throws {
        let directory = try TemporaryDirectory("leaky-fetcher")
        defer { try? FileManager.default.removeItem(atPath: directory.path) }
        let leaky = LeavesAProcess()
        defer { leaky.endAll() }
        let failure = await #expect(throws: ConformanceFailure.self) {
            try await FetcherConformance.check(OtherFetcher(subject: Subject(directory: directory), fetcher: leaky), contentSize: 1 << 20)
        }
        #expect(failure?.check == "nothing left running", "\(String(describing: failure))")
        #expect(failure?.message.contains("(sleep)") == true, "\(String(describing: failure))")
    }

    /// A file fetcher that can also say what a file holds, truthfully or `lying` about its size.
    struct Describes: DescribingFetcher {
        var lying = false
        func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
            try await FileFetcher().open(request, context: context)
        }
        func describe(_ source: Source, context: FetchContext) async throws -> ExpectedContent {
            guard let data = FileManager.default.contents(atPath: source.location) else { throw PkgfetchError(.notFound, "no \(source.location)") }
            return ExpectedContent(digest: SHA256Digest(SHA256.hash(data: data)), size: Int64(data.count) + (lying ? 1 : 0))
        }
    }

    @Test(arguments: [false, true])
    func aDescribingFetcherIsCheckedOnWhatItSays(lying: Bool) async throws {
        let directory = try TemporaryDirectory("describing-fetcher")
        defer { try? FileManager.default.removeItem(atPath: directory.path) }
        let subject = OtherFetcher(subject: Subject(directory: directory), fetcher: Describes(lying: lying))
        if lying {
            let failure = await #expect(throws: ConformanceFailure.self) { try await FetcherConformance.check(subject, contentSize: 1 << 20) }
            #expect(failure?.check == "describe", "\(String(describing: failure))")
            #expect(failure?.message.contains("describe says 1048577 bytes, the content is 1048576") == true, "\(String(describing: failure))")
        } else {
            let checks = try await FetcherConformance.check(subject, contentSize: 1 << 20)
            #expect(checks.contains("describe") && checks.contains("nothing left running"), "\(checks)")
        }
    }

    /// A cache hit about to be unpacked is hashed and lent to the unpacker, not copied; a write to the
    /// cached copy meanwhile is caught. One to be installed as it is gets copied.
    @Test func aCachedArchiveIsLentNotCopiedAndItsChangesAreCaught() async throws {
        let dir = try TemporaryDirectory()
        let cached = dir.join("cache/pkg.tar.gz")
        try FileManager.default.createDirectory(atPath: dir.join("cache"), withIntermediateDirectories: true)
        try Files.writeRandom(cached, size: (1 << 20) + 3, seed: 5)
        let original = try Data(contentsOf: URL(fileURLWithPath: cached))
        let seen = ThreadSafeBox<[String]>([])
        let unpacker = FakeUnpacker(files: ["bin/tool": "x"]) { archive in
            // What the unpacker reads is the cached file itself; the staging file beside it stays empty.
            let staged = Files.stagingDirectories(in: dir.path).map { dir.join($0) + "/source-0" }
            let stagedSize = staged.compactMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int }
            seen.mutate { $0.append("\(archive.hasPrefix("/proc/self/fd/")) \(stagedSize) \((try? Data(contentsOf: URL(fileURLWithPath: archive))) == original)") }
        }
        let runner = makeRunner(sources: [Source(scheme: "file", location: cached)], fetchers: ["file": FileFetcher()], unpacker: unpacker)
        _ = try await runner.run(PackageRequest(url: "x", target: .directory(path: dir.join("node/opt"), mode: .merge, unpack: true)))
        #expect(seen.value == ["true [0] true"])

        // Writing to the cached copy while it is lent is caught, and nothing is installed.
        let tampering = FakeUnpacker(files: ["bin/tool": "y"]) { _ in
            let handle = FileHandle(forWritingAtPath: cached)!
            handle.seekToEndOfFile()
            handle.write(Data("appended".utf8))
            handle.closeFile()
        }
        let tampered = makeRunner(sources: [Source(scheme: "file", location: cached)], fetchers: ["file": FileFetcher()], unpacker: tampering)
        let failure = await #expect(throws: PkgfetchError.self) {
            try await tampered.run(PackageRequest(url: "x", target: .directory(path: dir.join("node/other"), mode: .merge, unpack: true)))
        }
        #expect(failure?.kind == .integrityMismatch)
        #expect(!FileManager.default.fileExists(atPath: dir.join("node/other")))

        // Installed as it is: a copy of its own.
        let copied = try await SingleSourceRun(fetcher: FileFetcher(), source: Source(scheme: "file", location: cached))
            .run(installingTo: dir.join("copy.tgz"))
        #expect(copied.digest.hex == (try Files.sha256(cached)))
        #expect(try Files.sha256(dir.join("copy.tgz")) == (try Files.sha256(cached)))
    }

    /// A FIFO would block the open (and a writer could feed it forever); a device such as /dev/zero
    /// never ends. Only regular files are read.
    @Test func onlyRegularFilesAreRead() async throws {
        let dir = try TemporaryDirectory()
        #expect(mkfifo(dir.join("fifo"), 0o600) == 0)
        for path in [dir.join("fifo"), "/dev/zero"] {
            let run = SingleSourceRun(fetcher: FileFetcher(), source: Source(scheme: "file", location: path),
                                      retry: RetryPolicy(attempts: 1, perAttemptTimeout: .seconds(60)))   // a blocked open ends here, as a timeout
            let failure = await #expect(throws: PkgfetchError.self) { try await run.run(installingTo: dir.join("out")) }
            #expect(failure?.kind == .noSource)
            #expect(failure?.message.contains("not a regular file") == true, "\(String(describing: failure))")
        }
    }
}
