import Foundation
import Pipeline
import Testing
import TestSupport
@testable import Unpackers

@Suite("Deep trees: refused up front past the depth limit, and removed again, however deep, when an unpack fails", .offPool)
struct DeepTreeTests {
    /// `depth` nested directories `d/d/…/d/` and a file at the bottom, then `last`.
    private func deepArchive(depth: Int, then last: TestEntry, at path: String) throws {
        let bottom = Array(repeating: "d", count: depth).joined(separator: "/")
        try ArchiveBuilder.build(.tar, [.file(bottom + "/file", "deep"), .dir(bottom + "/locked/", mode: 0o500), last], at: path)
    }

    /// The sandbox's target a little under PATH_MAX deep itself, so that every path of the unpacked
    /// tree is longer than any path-based call (or `rm -r` by path) can take.
    private func longTargetSandbox() throws -> (Sandbox, String) {
        let sandbox = try Sandbox()
        var target = sandbox.target
        while target.utf8.count < 2500 { target += "/" + String(repeating: "t", count: 200) }
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        return (sandbox, target)
    }

    @Test func failedUnpackOfATreeDeeperThanPathMaxLeavesNothing() async throws {
        let (sandbox, target) = try longTargetSandbox()
        try deepArchive(depth: 1000, then: .file("../escaped", "x"), at: sandbox.archive)
        let archive = sandbox.archive
        let error = await #expect(throws: PkgfetchError.self) {
            try await BlockingIO.shared.run { try LibarchiveUnpacker().unpack(archive, format: .tar, into: target, limits: UnpackLimits()) }
        }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.message.contains("could not be removed") == false, "\(error?.message ?? "")")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == [], "the 1000-deep tree was removed")
    }

    @Test func depthLimitIsCheckedBeforeAnythingIsWritten() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tar, [.file("first", "x"), .file(Array(repeating: "d", count: 1500).joined(separator: "/"), "x")], at: sandbox.archive)
        let error = await #expect(throws: PkgfetchError.self) { try await sandbox.unpack(.tar) }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.message.contains("has 1500 components, more than 1024 (depth limit)") == true, "\(error?.message ?? "")")
        #expect(error?.message.count ?? .max < 300)
        #expect(try TreeSnapshot(sandbox.target).nodes.isEmpty)
    }
}

@Suite("TreeRemoval empties a directory of any depth relative to handles, and never follows a symlink", .offPool)
struct TreeRemovalTests {
    @Test func removesADeepTreeWithLockedDirectoriesAndLinksOutside() throws {
        let temporary = try TemporaryDirectory()
        let root = try temporary.path("root", create: true)
        let outside = try temporary.path("outside", create: true)
        try "keep".write(toFile: outside + "/sentinel", atomically: false, encoding: .utf8)
        // 1500 levels of 9-byte names: 15 KB of path, built relative to descriptors as the unpacker does.
        try Tool.run(try Tool.python3(), ["-c", """
            import os, sys
            fd = os.open(sys.argv[1], os.O_RDONLY)
            os.symlink(sys.argv[2], 'out', dir_fd=fd)
            for level in range(1500):
                os.mkdir('level-%03d' % (level % 1000), dir_fd=fd)
                with open(os.open('file', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), 'w') as f: f.write('x')
                os.symlink('../' * 3, 'up', dir_fd=fd)
                child = os.open('level-%03d' % (level % 1000), os.O_RDONLY, dir_fd=fd)
                os.close(fd); fd = child
            os.mkdir('locked', 0o000, dir_fd=fd)
            os.mkdir('readonly', 0o500, dir_fd=fd)
            """, root, outside])
        let descriptor = open(root, O_RDONLY | O_DIRECTORY)
        defer { close(descriptor) }
        try FileSystem.removeContents(ofDirectory: descriptor)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == [])
        #expect(try String(contentsOfFile: outside + "/sentinel", encoding: .utf8) == "keep")
    }
}
