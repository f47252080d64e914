import Foundation
import Pipeline
import Testing
import TestSupport

/// Staging goes whatever it holds: a tree of any depth is removed relative to directory handles.
@Suite struct StagingRemovalTests {
    /// Builds a chain of `depth` directories named `d` inside `directory`, with a file at the bottom:
    /// its full path is far past PATH_MAX, so only a walk relative to handles can remove it.
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
        try Self.buildDeepTree(in: tree, depth: 5000)
        try staging.remove()
        #expect(!FileManager.default.fileExists(atPath: staging.path))
        #expect(dir.listing() == [])
    }

    @Test func removeTreeWorksRelativeToADirectoryDescriptor() throws {
        let dir = try TemporaryDirectory("deep-remove")
        try FileManager.default.createDirectory(atPath: dir.join("top"), withIntermediateDirectories: true)
        try Self.buildDeepTree(in: dir.join("top"), depth: 3000)
        try FileManager.default.createSymbolicLink(atPath: dir.join("top/link"), withDestinationPath: dir.join("kept"))
        try FileManager.default.createDirectory(atPath: dir.join("kept"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir.join("kept/file"), contents: Data("kept".utf8))
        let descriptor = open(dir.path, O_RDONLY | O_DIRECTORY)
        defer { close(descriptor) }
        try FileSystem.removeTree(named: "top", in: descriptor)
        #expect(dir.listing() == ["kept", "kept/file"], "a symlink inside is removed, not followed")
        try FileSystem.removeTree(named: "absent", in: descriptor)
    }
}
