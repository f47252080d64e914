import Foundation
import Pipeline
import Testing
import TestSupport
import Unpackers

/// A tar.gz is unpacked while its bytes arrive (`StreamedUnpack`), through a real runner and the real
/// unpacker, with a fetcher that pauses part-way, so each test sees the unpack at work before the
/// download has ended: nothing is installed before the file is verified, a reset starts the unpack
/// over, a resume continues it, and the limits hold against the bytes landed so far.
@Suite(.offPool) struct StreamedUnpackTests {
    /// 20 files of 100 000 random hex digits: about 1.1 MB of tar.gz, so the pause at 60 % comes after
    /// a few of the staging file's 256 KiB blocks have landed, and files of it are unpacked.
    static func package(_ prefix: String = "part", at path: String) throws {
        let entries = (0..<20).map { index in
            TestEntry.file("pkg/\(prefix)-\(String(format: "%02d", index)).txt",
                           Self.randomHex(100_000))
        }
        try ArchiveBuilder.build(.tarGzip, entries, at: path)
    }

    /// `count` random hex digits: text that compresses to about half.
    static func randomHex(_ count: Int) -> String {
        String((0..<count).map { _ in "0123456789abcdef".randomElement()! })
    }

    /// The installed tree is what bsdtar makes of `archive`: paths, types, modes, sizes, contents. Not
    /// times: the directory the archive only implies is made when each tool runs.
    static func expectSameTree(_ installed: String, as archive: String, in scratch: TestSupport.TemporaryDirectory,
                               _ comment: Comment? = nil) throws {
        let directory = scratch.join("oracle-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = try Tool.run(try Tool.bsdtar(), ["-xf", archive, "-C", directory])
        let differences = try TreeSnapshot(installed).differences(from: TreeSnapshot(directory), comparingTimes: false)
        #expect(differences == [], comment)
    }

    struct Scene {
        let scratch: TestSupport.TemporaryDirectory
        let destination: String
        let events = CollectingEventSink()

        init() throws {
            scratch = try TestSupport.TemporaryDirectory("streamed-unpack")
            destination = scratch.join("dest/bin")
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: destination + "/old", contents: Data("old".utf8))
        }

        func runner(_ fetcher: PausingFetcher, limits: UnpackLimits = UnpackLimits()) -> PipelineRunner {
            var plugins = PluginRegistry()
            plugins.register(resolver: OnePlan(), named: "cdn")
            plugins.register(fetcher: fetcher, forSchemes: "https")
            plugins.register(unpacker: LibarchiveUnpacker(), for: LibarchiveUnpacker.formats)
            return PipelineRunner(plugins: plugins, retry: RetryPolicy(attempts: 1), events: EventEmitter(sink: events), unpackLimits: limits)
        }

        func request(digest: SHA256Digest? = nil) -> PackageRequest {
            PackageRequest(url: "https://cdn.test/pkg.tar.gz", expectedDigest: digest,
                           target: .directory(path: destination, mode: .replace, unpack: true))
        }

        /// A package of 20 files named `prefix-NN.txt` (see `StreamedUnpackTests.package`) in the scratch
        /// directory: its path and its bytes.
        func package(_ prefix: String = "part") throws -> (path: String, bytes: Data) {
            let path = scratch.join("\(prefix).tar.gz")
            try StreamedUnpackTests.package(prefix, at: path)
            return (path, try Data(contentsOf: URL(fileURLWithPath: path)))
        }

        /// The staging tree's file `name`, once it holds `size` bytes, while the fetcher is paused.
        func waitForUnpacked(_ name: String, size: Int) async throws {
            let limit = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < limit {
                for staging in Files.stagingDirectories(in: scratch.join("dest")) {
                    let path = scratch.join("dest/\(staging)/tree/\(name)")
                    if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                       (attributes[.size] as? Int) == size { return }
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            Issue.record("\(name) was not unpacked while the download was paused")
        }

        /// The destination holds only what it held before, and no staging is left beside it.
        func expectUntouched() throws {
            #expect(try FileManager.default.contentsOfDirectory(atPath: destination) == ["old"])
            #expect(Files.stagingDirectories(in: scratch.join("dest")).isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.join("dest")) == ["bin"])
        }
    }

    @Test func aTarGzIsUnpackedBeforeItsLastByteArrivesAndInstalledOnceVerified() async throws {
        let scene = try Scene()
        let (archive, content) = try scene.package()
        let fetcher = PausingFetcher { _, _ in .init(content: content, pauseAt: content.count * 6 / 10) }
        let run = Task { try await scene.runner(fetcher).run(scene.request(digest: SHA256Digest(Files.sha256(archive)))) }
        try await scene.waitForUnpacked("pkg/part-00.txt", size: 100_000)
        // Unpacked, not installed: the file is not verified yet.
        #expect(try FileManager.default.contentsOfDirectory(atPath: scene.destination) == ["old"])
        fetcher.gate.open()
        let result = try await run.value
        #expect(result.unpackedEntries == 20)
        try Self.expectSameTree(scene.destination, as: archive, in: scene.scratch)
        #expect(Files.stagingDirectories(in: scene.scratch.join("dest")).isEmpty)
    }

    @Test func aFailedDigestAfterAStreamedUnpackThrowsTheTreeAway() async throws {
        let scene = try Scene()
        let (archive, content) = try scene.package()
        let fetcher = PausingFetcher { _, _ in .init(content: content, pauseAt: content.count * 6 / 10) }
        let wrong = SHA256Digest(String(repeating: "ab", count: 32))
        let run = Task { try await scene.runner(fetcher).run(scene.request(digest: wrong)) }
        try await scene.waitForUnpacked("pkg/part-00.txt", size: 100_000)
        fetcher.gate.open()
        let error = await #expect(throws: PkgfetchError.self) { try await run.value }
        #expect(error?.kind == .integrityMismatch, "\(String(describing: error))")
        try scene.expectUntouched()
        #expect(!scene.events.events.contains { $0.task == "install" })
    }

    @Test func aCutThenResumeContinuesTheUnpack() async throws {
        let scene = try Scene()
        let (archive, content) = try scene.package()
        let cut = content.count * 6 / 10
        // First open: pauses at 60 %, then the connection is cut; the second continues from there.
        let fetcher = PausingFetcher { open, _ in
            open == 1 ? .init(content: content, pauseAt: cut, cutAt: cut) : .init(content: content, honoursOffset: true)
        }
        let run = Task { try await scene.runner(fetcher).run(scene.request(digest: SHA256Digest(Files.sha256(archive)))) }
        try await scene.waitForUnpacked("pkg/part-00.txt", size: 100_000)
        fetcher.gate.open()
        _ = try await run.value
        #expect(fetcher.requests.map(\.offset) == [0, Int64(cut)], "resumed where the cut was")
        try Self.expectSameTree(scene.destination, as: archive, in: scene.scratch)
        #expect(!scene.events.events.contains { $0.task == "unpack" && $0.outcome == "retry" }, "the unpack went on; \(scene.events.events)")
    }

    @Test func aSourceThatChangedMidStreamStartsTheUnpackOver() async throws {
        let scene = try Scene()
        let (old, oldBytes) = try scene.package("old")
        let (new, newBytes) = try scene.package("new")
        let cut = oldBytes.count * 6 / 10
        // The resume finds another version (another validator), which comes whole from byte 0.
        let fetcher = PausingFetcher { open, _ in
            open == 1 ? .init(content: oldBytes, validator: "old", pauseAt: cut, cutAt: cut) : .init(content: newBytes, validator: "new")
        }
        let run = Task { try await scene.runner(fetcher).run(scene.request()) }
        try await scene.waitForUnpacked("pkg/old-00.txt", size: 100_000)
        fetcher.gate.open()
        let result = try await run.value
        #expect(result.digest == SHA256Digest(try Files.sha256(new)))
        try Self.expectSameTree(scene.destination, as: new, in: scene.scratch, "only the new version's files")
        #expect(scene.events.events.contains { $0.task == "unpack" && $0.outcome == "retry" }, "\(scene.events.events)")
    }

    /// The ratio is held against the bytes landed: while the download is paused the unpack writes no
    /// more than the ratio allows for them, and at the end the bomb is refused as it would be unpacked
    /// from a finished file.
    @Test func aBombIsStoppedByTheRatioLimitWhileStreaming() async throws {
        let scene = try Scene()
        let archive = scene.scratch.join("bomb.tar.gz")
        let noise = Self.randomHex(4_000_000)
        try ArchiveBuilder.build(.tarGzip, [.zeros("pkg/zeros", count: 48 << 20), .file("pkg/noise", noise)], at: archive)
        let content = try Data(contentsOf: URL(fileURLWithPath: archive))
        let pause = content.count / 2
        let limits = UnpackLimits(maxCompressionRatio: 10, ratioExemptBytes: 0)
        let fetcher = PausingFetcher { _, _ in .init(content: content, pauseAt: pause) }
        let run = Task { try await scene.runner(fetcher, limits: limits).run(scene.request()) }
        // Paused: whatever was written is within 10× what can have landed.
        try await Task.sleep(for: .seconds(1))
        for staging in Files.stagingDirectories(in: scene.scratch.join("dest")) {
            let written = (try? FileManager.default.attributesOfItem(atPath: scene.scratch.join("dest/\(staging)/tree/pkg/zeros"))[.size] as? Int) ?? 0
            #expect(written <= 10 * pause, "\(written) bytes unpacked from at most \(pause) landed")
        }
        fetcher.gate.open()
        let error = await #expect(throws: PkgfetchError.self) { try await run.value }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.message.contains("compression-ratio limit") == true, "\(error?.message ?? "")")
        try scene.expectUntouched()
    }

    /// The other side of the same rule: an archive whose start compresses far better than the whole is
    /// not refused early, because the unpack waits for more bytes instead.
    @Test func anArchiveWithinTheRatioOverallIsNotRefusedForItsStart() async throws {
        let scene = try Scene()
        let archive = scene.scratch.join("pkg.tar.gz")
        let noise = Self.randomHex(4_000_000)
        try ArchiveBuilder.build(.tarGzip, [.zeros("pkg/zeros", count: 8 << 20), .file("pkg/noise", noise)], at: archive)
        let content = try Data(contentsOf: URL(fileURLWithPath: archive))
        let fetcher = PausingFetcher { _, _ in .init(content: content, pauseAt: content.count / 3) }
        let run = Task {
            try await scene.runner(fetcher, limits: UnpackLimits(maxCompressionRatio: 10, ratioExemptBytes: 0)).run(scene.request())
        }
        try await Task.sleep(for: .milliseconds(500))
        fetcher.gate.open()
        let result = try await run.value
        #expect(result.unpackedEntries == 2)
        try Self.expectSameTree(scene.destination, as: archive, in: scene.scratch)
    }

    @Test func aHostileEntryWhileStreamingStopsTheRunAndLeavesNothing() async throws {
        let scene = try Scene()
        let archive = scene.scratch.join("evil.tar.gz")
        var entries = (0..<10).map { TestEntry.file("pkg/part-\($0).txt", Self.randomHex(100_000)) }
        entries.append(.file("../escaped", "x"))
        try ArchiveBuilder.build(.tarGzip, entries, at: archive)
        let content = try Data(contentsOf: URL(fileURLWithPath: archive))
        let fetcher = PausingFetcher { _, _ in .init(content: content, pauseAt: content.count * 6 / 10) }
        let run = Task { try await scene.runner(fetcher).run(scene.request()) }
        try await scene.waitForUnpacked("pkg/part-0.txt", size: 100_000)
        fetcher.gate.open()
        let error = await #expect(throws: PkgfetchError.self) { try await run.value }
        #expect(error?.kind == .unsafeArchive, "\(String(describing: error))")
        try scene.expectUntouched()
        #expect(!FileManager.default.fileExists(atPath: scene.scratch.join("dest/escaped")))
    }
}

/// Plans one CDN source for `pkg.tar.gz`.
private struct OnePlan: Resolver {
    func resolve(_ request: PackageRequest) throws -> Plan {
        Plan(rule: "fixed", package: "pkg", version: "v1", fileName: "pkg.tar.gz", format: .tarGzip, sources: [.url(request.url)])
    }
}

/// A fetcher whose streams pause at a byte until the test opens its gate, and may be cut there.
final class PausingFetcher: Fetcher, @unchecked Sendable {
    struct Answer: Sendable {
        var content: Data
        var validator: String = "v1"
        /// Start at the requested offset (else from byte 0).
        var honoursOffset = false
        var pauseAt: Int?
        var cutAt: Int?
    }

    let gate = Gate()
    private let script: @Sendable (_ open: Int, _ request: FetchRequest) -> Answer
    private let lock = NSLock()
    private var seen: [FetchRequest] = []

    init(_ script: @escaping @Sendable (_ open: Int, _ request: FetchRequest) -> Answer) {
        self.script = script
    }

    var requests: [FetchRequest] { lock.withLock { seen } }

    func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        let open = lock.withLock { seen.append(request); return seen.count }
        let answer = script(open, request)
        let start = answer.honoursOffset ? Int(request.offset) : 0
        let gate = gate
        return FetchedStream(offset: Int64(start), size: Int64(answer.content.count), validator: .token(answer.validator),
                             body: .writer { sink in
            var position = start
            let end = answer.cutAt ?? answer.content.count
            while position < end {
                if position == answer.pauseAt { await gate.wait() }
                var next = min(end, position + 64 << 10)
                if let pause = answer.pauseAt, position < pause { next = min(next, pause) }
                try sink.write(answer.content[position..<next])
                position = next
            }
            if position == answer.pauseAt { await gate.wait() }
            if answer.cutAt != nil { throw PkgfetchError(.unavailable, "test: the connection was cut") }
        })
    }
}

/// Opened once by the test; waited for by the fetcher.
final class Gate: @unchecked Sendable {
    private let lock = NSLock()
    private var isOpen = false

    func open() { lock.withLock { isOpen = true } }

    func wait() async {
        while !lock.withLock({ isOpen }) { try? await Task.sleep(for: .milliseconds(5)) }
    }
}
