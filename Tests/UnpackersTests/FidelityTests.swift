import Foundation
import Pipeline
import Testing
import TestSupport
import Unpackers

@Suite("Modes, times, links and repeated names come out as a careful tar would make them", .offPool)
struct FidelityTests {
    @Test func specialBitsAreDroppedAndModesKept() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tar, [
            .dir("shared/", mode: 0o1777),
            .dir("group/", mode: 0o2775),
            .file("bin/setuid-tool", "x", mode: 0o4755),
            .file("bin/plain", "x", mode: 0o700),
            .file("readonly", "x", mode: 0o444),
            .dir("locked/", mode: 0o555),
            .file("locked/inside", "written before the directory was locked", mode: 0o644),
        ], at: sandbox.archive)
        _ = try await sandbox.unpack(.tar)
        let tree = try TreeSnapshot(sandbox.target)
        #expect(tree["shared"]?.permissions == 0o755, "1777: sticky and write for others dropped")
        #expect(tree["group"]?.permissions == 0o755, "2775: setgid and group write dropped")
        #expect(tree["bin/setuid-tool"]?.permissions == 0o755)
        #expect(tree["bin"]?.permissions == 0o755, "a directory the archive only implies")
        #expect(tree["bin/plain"]?.permissions == 0o700)
        #expect(tree["readonly"]?.permissions == 0o444)
        #expect(tree["locked"]?.permissions == 0o555)
        #expect(tree["locked/inside"]?.size == 39)
    }

    /// Installed content is writable by its owner only: a world-writable directory or file in a
    /// package run as root would let any local user change what root runs. Executable bits stay.
    @Test(arguments: [ArchiveBuilder.Format.tar, .zip])
    func groupAndOtherWriteAreDropped(_ format: ArchiveBuilder.Format) async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(format, [
            .dir("tmp/", mode: 0o1777),
            .dir("shared/", mode: 0o777),
            .file("tmp/world-writable", "x", mode: 0o666),
            .file("shared/tool", "x", mode: 0o777),
            .file("group-writable", "x", mode: 0o620),
            .file("setgid-tool", "x", mode: 0o2775),
        ], at: sandbox.archive)
        _ = try await sandbox.unpack(format == .zip ? .zip : .tar)
        let tree = try TreeSnapshot(sandbox.target)
        #expect(tree["tmp"]?.permissions == 0o755)
        #expect(tree["shared"]?.permissions == 0o755)
        #expect(tree["tmp/world-writable"]?.permissions == 0o644)
        #expect(tree["shared/tool"]?.permissions == 0o755)
        #expect(tree["group-writable"]?.permissions == 0o600)
        #expect(tree["setgid-tool"]?.permissions == 0o755)
    }

    @Test func ownershipIsNeverRestored() async throws {
        let sandbox = try Sandbox()
        var entry = TestEntry.file("owned-by-someone", "x")
        entry.uid = 4321
        try ArchiveBuilder.build(.tar, [entry], at: sandbox.archive)
        _ = try await sandbox.unpack(.tar)
        var info = stat()
        #expect(lstat("\(sandbox.target)/owned-by-someone", &info) == 0)
        #expect(info.st_uid == getuid())
        #expect(info.st_gid == getgid())
    }

    @Test func modificationTimesAreKept() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tarGzip, [
            TestEntry(name: "d/", type: .dir, mode: 0o755, mtime: 1_234_567_000),
            .file("d/f", "x", mtime: 1_234_567_890),
            TestEntry(name: "d/link", type: .symlink, target: "f", mtime: 1_234_567_111),
        ], at: sandbox.archive)
        _ = try await sandbox.unpack(.tarGzip)
        let tree = try TreeSnapshot(sandbox.target)
        #expect(tree["d"]?.modified == 1_234_567_000)
        #expect(tree["d/f"]?.modified == 1_234_567_890)
        #expect(tree["d/link"]?.modified == 1_234_567_111)
    }

    @Test func linksInsideTheDirectoryAreKept() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tar, [
            .file("lib/libfoo.so.1.2", "elf"),
            .symlink("lib/libfoo.so.1", to: "libfoo.so.1.2"),
            .symlink("lib/libfoo.so", to: "./libfoo.so.1"),
            .symlink("current", to: "lib"),
            .symlink("dangling-inside", to: "lib/not-yet"),
            .symlink("sub-up", to: "lib/../lib/libfoo.so"),
            .hardlink("lib/hard", to: "lib/libfoo.so.1.2"),
        ], at: sandbox.archive)
        let report = try await sandbox.unpack(.tar)
        #expect(report.entries == 7)
        let tree = try TreeSnapshot(sandbox.target)
        #expect(tree["lib/libfoo.so"]?.linkTarget == "./libfoo.so.1")
        #expect(tree["current"]?.linkTarget == "lib")
        #expect(tree["dangling-inside"]?.linkTarget == "lib/not-yet")
        var original = stat(), link = stat()
        #expect(lstat("\(sandbox.target)/lib/libfoo.so.1.2", &original) == 0)
        #expect(lstat("\(sandbox.target)/lib/hard", &link) == 0)
        #expect(original.st_ino == link.st_ino, "a hard link, not a copy")
        #expect(try String(contentsOfFile: "\(sandbox.target)/current/libfoo.so", encoding: .utf8) == "elf")
    }

    /// tar's rule: a later entry of the same name replaces the earlier file or link; a directory seen
    /// twice takes the later mode.
    @Test func repeatedNamesLastOneWins() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tar, [
            .file("config", "old"),
            .dir("d/", mode: 0o700),
            .file("target", "t"),
            .symlink("link", to: "config"),
            .file("config", "new"),
            .dir("d/", mode: 0o750),
            .symlink("link", to: "target"),
        ], at: sandbox.archive)
        _ = try await sandbox.unpack(.tar)
        let tree = try TreeSnapshot(sandbox.target)
        #expect(try String(contentsOfFile: "\(sandbox.target)/config", encoding: .utf8) == "new")
        #expect(tree["d"]?.permissions == 0o750)
        #expect(tree["link"]?.linkTarget == "target")
    }

    @Test func dotSlashNamesAndTheRootEntry() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tar, [.dir("./", mode: 0o777), .dir("./a/", mode: 0o755), .file("./a//./b", "x")], at: sandbox.archive)
        _ = try await sandbox.unpack(.tar)
        #expect(try TreeSnapshot(sandbox.target).nodes.keys.sorted() == ["a", "a/b"])
        var info = stat()
        #expect(stat(sandbox.target, &info) == 0)
        #expect(info.st_mode & 0o777 != 0o777, "the root entry does not change the caller's directory")
    }

    @Test func targetMustBeEmpty() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tar, [.file("a", "x")], at: sandbox.archive)
        try FileManager.default.createSymbolicLink(atPath: "\(sandbox.target)/a", withDestinationPath: sandbox.root)
        let error = await #expect(throws: PkgfetchError.self) { try await sandbox.unpack(.tar) }
        #expect(error?.kind == .internal, "the caller's bug, not the archive's")
        #expect(error?.message.contains("is not empty") == true)
    }
}
