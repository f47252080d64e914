import Foundation
import Pipeline
import PipelineTesting
import Testing
import TestSupport

/// The destination holds the old content or the complete new content, never half, and no staging debris.
@Suite(.offPool) struct InstallTests {
    func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test func failingFetchLeavesTheOldFileAndNoDebris() async throws {
        let dir = try TemporaryDirectory()
        try write(dir.join("out/pkg.tar.gz"), "old")
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")],
                                fetchers: ["https": ScriptedFetcher(failures: [PkgfetchError(.httpNotFound, "404")])])
        await #expect(throws: PkgfetchError.self) {
            try await runner.run(PackageRequest(url: "x", target: .file(path: dir.join("out/pkg.tar.gz"))))
        }
        #expect(read(dir.join("out/pkg.tar.gz")) == "old")
        #expect(dir.listing() == ["out", "out/pkg.tar.gz"])
    }

    @Test func fileIsReplacedWhole() async throws {
        let dir = try TemporaryDirectory()
        try write(dir.join("out/pkg.tar.gz"), "old")
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()])
        _ = try await runner.run(PackageRequest(url: "x", target: .file(path: dir.join("out/pkg.tar.gz"))))
        #expect(read(dir.join("out/pkg.tar.gz")) == "package bytes")
        #expect(dir.listing() == ["out", "out/pkg.tar.gz"])
    }

    @Test func missingParentDirectoriesAreCreated() async throws {
        let dir = try TemporaryDirectory()
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()])
        _ = try await runner.run(PackageRequest(url: "x", target: .file(path: dir.join("a/b/c/pkg"))))
        #expect(read(dir.join("a/b/c/pkg")) == "package bytes")
    }

    @Test func mergeKeepsFilesThePackageLacks() async throws {
        let dir = try TemporaryDirectory()
        try write(dir.join("bin/other-plugin"), "theirs")
        try write(dir.join("bin/azure-vnet"), "old")
        let unpacker = FakeUnpacker(files: ["azure-vnet": "new", "sub/azure-vnet-ipam": "new"])
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()], unpacker: unpacker)
        let result = try await runner.run(PackageRequest(url: "x", target: .directory(path: dir.join("bin"), mode: .merge, unpack: true)))
        #expect(result.unpackedEntries == 2)
        #expect(read(dir.join("bin/azure-vnet")) == "new")
        #expect(read(dir.join("bin/sub/azure-vnet-ipam")) == "new")
        #expect(read(dir.join("bin/other-plugin")) == "theirs")
        #expect(dir.listing() == ["bin", "bin/azure-vnet", "bin/other-plugin", "bin/sub", "bin/sub/azure-vnet-ipam"])
    }

    @Test func replaceSwapsTheWholeDirectory() async throws {
        let dir = try TemporaryDirectory()
        try write(dir.join("bin/stale"), "old")
        let unpacker = FakeUnpacker(files: ["kubelet": "new"])
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()], unpacker: unpacker)
        _ = try await runner.run(PackageRequest(url: "x", target: .directory(path: dir.join("bin"), mode: .replace, unpack: true)))
        #expect(dir.listing() == ["bin", "bin/kubelet"])
    }

    @Test func failingUnpackLeavesTheDestinationAsItWas() async throws {
        let dir = try TemporaryDirectory()
        try write(dir.join("bin/azure-vnet"), "old")
        let unpacker = FakeUnpacker(files: ["azure-vnet": "new", "evil": "x"], failure: PkgfetchError(.unsafeArchive, "entry '../evil' escapes"))
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()], unpacker: unpacker)
        for mode in InstallMode.allCases {
            let thrown = await #expect(throws: PkgfetchError.self) {
                try await runner.run(PackageRequest(url: "x", target: .directory(path: dir.join("bin"), mode: mode, unpack: true)))
            }
            #expect(thrown?.kind == .unsafeArchive)
            #expect(read(dir.join("bin/azure-vnet")) == "old")
            #expect(dir.listing() == ["bin", "bin/azure-vnet"])
        }
    }

    @Test func mergeConflictIsFoundBeforeAnythingMoves() async throws {
        let dir = try TemporaryDirectory()
        try write(dir.join("bin/a"), "old-a")
        try write(dir.join("bin/z"), "a file where the package has a directory")
        let unpacker = FakeUnpacker(files: ["a": "new-a", "z/inner": "new"])
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()], unpacker: unpacker)
        let thrown = await #expect(throws: PkgfetchError.self) {
            try await runner.run(PackageRequest(url: "x", target: .directory(path: dir.join("bin"), mode: .merge, unpack: true)))
        }
        #expect(thrown?.kind == .destinationIO)
        #expect(read(dir.join("bin/a")) == "old-a")
        #expect(dir.listing() == ["bin", "bin/a", "bin/z"])
    }

    @Test func noUnpackPlacesTheFileUnderItsName() async throws {
        let dir = try TemporaryDirectory()
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()])
        _ = try await runner.run(PackageRequest(url: "x", target: .directory(path: dir.join("d"), mode: .merge, unpack: false)))
        #expect(read(dir.join("d/pkg.tar.gz")) == "package bytes")
    }

    @Test func unpackWithoutARegisteredUnpackerIsAClearError() async throws {
        let dir = try TemporaryDirectory()
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()])
        let thrown = await #expect(throws: PkgfetchError.self) {
            try await runner.run(PackageRequest(url: "x", target: .directory(path: dir.join("d"), mode: .merge, unpack: true)))
        }
        #expect(thrown?.message.contains("no unpacker registered for format 'tar.gz'") == true)
        #expect(dir.listing() == [])
    }

    @Test(arguments: ["/proc/pkgfetch-test/out", "FILE/out"])
    func unwritableDestinationIsDestinationIO(path: String) async throws {
        let dir = try TemporaryDirectory()
        try write(dir.join("FILE"), "a regular file, not a directory")
        let target = path.hasPrefix("/") ? path : dir.join(path)
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()])
        let thrown = await #expect(throws: PkgfetchError.self) {
            try await runner.run(PackageRequest(url: "x", target: .file(path: target)))
        }
        #expect(thrown?.kind == .destinationIO)
        #expect(dir.listing() == ["FILE"])
    }
}

/// The unpacker blocks (file I/O, decompression): the runner must call it on a thread of `BlockingIO`,
/// never on Swift's cooperative pool, whatever executor the calling task prefers.
@Suite struct UnpackThreadTests {
    @Test func theUnpackerRunsOnABlockingIOThread() async throws {
        let dir = try TemporaryDirectory()
        let seen = ThreadNames()
        let unpacker = FakeUnpacker(files: ["kubelet": "new"]) { _ in seen.record() }
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()], unpacker: unpacker)
        _ = try await runner.run(PackageRequest(url: "x", target: .directory(path: dir.join("bin"), mode: .replace, unpack: true)))
        let names = seen.names
        #expect(names.count == 1)
        #expect(names.allSatisfy { $0.hasPrefix("pkgfetch-blocking-io") }, "the unpacker ran on \(names)")
    }

    /// A streaming unpacker is called while the download goes on, on a blocking thread of its own;
    /// when it declines, the unpack of the verified file runs on the pool's threads.
    @Test func aStreamingUnpackerRunsOffTheCooperativePoolToo() async throws {
        let dir = try TemporaryDirectory()
        let seen = ThreadNames()
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()],
                                unpacker: DecliningStreamingUnpacker(seen: seen))
        let result = try await runner.run(PackageRequest(url: "x", target: .directory(path: dir.join("bin"), mode: .replace, unpack: true)))
        #expect(result.unpackedEntries == 1)
        let names = seen.names
        #expect(names.count == 2, "streamed, then from the file: \(names)")
        #expect(names.first == "pkgfetch-blocking-io-unpack", "\(names)")
        #expect(names.allSatisfy { $0.hasPrefix("pkgfetch-blocking-io") }, "\(names)")
    }
}

/// Records the thread of each call; declines to stream, then writes one file from the verified file.
private struct DecliningStreamingUnpacker: StreamingUnpacker {
    let seen: ThreadNames

    func streams(_ format: ArchiveFormat) -> Bool { true }

    func unpack(streaming content: LandedContentReader, format: ArchiveFormat, into directory: String,
                limits: UnpackLimits) throws -> UnpackReport? {
        seen.record()
        return nil
    }

    func unpack(_ archive: String, format: ArchiveFormat, into directory: String, limits: UnpackLimits) throws -> UnpackReport {
        seen.record()
        _ = FileManager.default.createFile(atPath: directory + "/kubelet", contents: Data("new".utf8))
        return UnpackReport(entries: 1, bytes: 3, detectedFormat: "fake")
    }
}

/// The names of the threads that called `record()`: a blocking-I/O thread's, or else the kernel's
/// (a cooperative thread's is `com.apple.root.…`).
final class ThreadNames: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []

    var names: [String] { lock.withLock { recorded } }

    func record() {
        let name = BlockingIO.currentThreadName
            ?? (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
            ?? "unnamed"
        lock.withLock { recorded.append(name) }
    }
}
