import Foundation
import Pipeline
import PipelineTesting
import Testing
import TestSupport

/// Staging goes whatever it holds: a tree of any depth is removed relative to directory handles.
@Suite(.offPool) struct StagingRemovalTests {
    /// Builds a chain of `depth` directories named `d` inside `directory`, with a file at the bottom:
    /// its full path is past PATH_MAX (4096), so only a walk relative to handles can remove it.
    static func buildDeepTree(in directory: String, depth: Int) throws {
        var current = open(directory, O_RDONLY | O_DIRECTORY)
        try #require(current >= 0)
        for _ in 0..<depth {
            try #require(mkdirat(current, "d", 0o755) == 0)
            let next = openat(current, "d", O_RDONLY | O_DIRECTORY)
            close(current)
            try #require(next >= 0)
            current = next
        }
        let file = openat(current, "f", O_CREAT | O_WRONLY, 0o644)
        close(file)
        close(current)
    }

    @Test func aStagingAreaHoldingADeepTreeIsRemoved() throws {
        let dir = try TemporaryDirectory("deep-staging")
        let staging = try StagingArea(near: dir.join("out/k.tgz"))
        let tree = try staging.directory(named: "tree")
        try Self.buildDeepTree(in: tree, depth: 2100)
        try staging.remove()
        #expect(!FileManager.default.fileExists(atPath: staging.path))
        #expect(dir.listing() == [])
    }

    @Test func removeTreeWorksRelativeToADirectoryDescriptor() throws {
        let dir = try TemporaryDirectory("deep-remove")
        try FileManager.default.createDirectory(atPath: dir.join("top"), withIntermediateDirectories: true)
        try Self.buildDeepTree(in: dir.join("top"), depth: 2100)
        try FileManager.default.createSymbolicLink(atPath: dir.join("top/link"), withDestinationPath: dir.join("kept"))
        try FileManager.default.createDirectory(atPath: dir.join("kept"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir.join("kept/file"), contents: Data("kept".utf8))
        let descriptor = open(dir.path, O_RDONLY | O_DIRECTORY)
        defer { close(descriptor) }
        try FileSystem.removeTree(named: "top", in: descriptor)
        #expect(dir.listing() == ["kept", "kept/file"], "a symlink inside is removed, not followed")
        try FileSystem.removeTree(named: "absent", in: descriptor)
    }

    /// A staging tree that cannot be removed (an immutable file in it, `chattr +i`) is reported: an
    /// error line and a `cleanup` event, besides the run's own error. Nothing is swallowed.
    @Test func aStagingAreaThatCannotBeRemovedIsReported() async throws {
        let chattr = try Tools.path(of: "chattr")
        let dir = try TemporaryDirectory("stuck-staging")
        let events = CollectingEventSink()
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()],
                                unpacker: ImmutableFileUnpacker(chattr: chattr), events: events)
        let thrown = await #expect(throws: PkgfetchError.self) {
            try await runner.run(PackageRequest(url: "x", target: .directory(path: dir.join("bin"), mode: .merge, unpack: true)))
        }
        #expect(thrown?.kind == .unsafeArchive, "the run's own error stands")
        let cleanup = events.events.filter { $0.task == "cleanup" }
        #expect(cleanup.count == 1 && cleanup.first?.outcome == "failed" && cleanup.first?.error == "destination-io", "\(events.events)")
        let left = Files.stagingDirectories(in: dir.path)
        #expect(left.count == 1)
        for name in left { _ = try Processes.check([chattr, "-i", dir.join(name + "/tree/stuck")]) }
    }
}

/// Leaves a file in the tree that even root cannot remove until `chattr -i`, then fails.
private struct ImmutableFileUnpacker: Unpacker {
    var chattr: String

    func unpack(_ archive: String, format: ArchiveFormat, into tree: String, limits: UnpackLimits) throws -> UnpackReport {
        FileManager.default.createFile(atPath: tree + "/stuck", contents: Data("x".utf8))
        _ = try Processes.check([chattr, "+i", tree + "/stuck"])
        throw PkgfetchError(.unsafeArchive, "refused after writing")
    }
}
