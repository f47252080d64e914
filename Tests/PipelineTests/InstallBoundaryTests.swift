import Foundation
import Pipeline
import PipelineTesting
import Synchronization
import Testing
import TestSupport

/// The install boundary as another user on the machine would attack it: symlinks planted at or on the
/// way to `--output`/`--dest`, and a destination directory swapped for a symlink while the merge runs.
/// The tests run as root, as pkgfetch does on a node; the attacker is uid 65534 (nobody).
@Suite(.offPool) struct InstallBoundaryTests {
    static let attacker: uid_t = 65534

    /// A temporary directory with `shared/`, a sticky world-writable directory like /tmp, and a
    /// `victim/` holding what the attacker wants overwritten or deleted.
    struct Scene {
        let dir: TemporaryDirectory
        init() throws {
            dir = try TemporaryDirectory("boundary")
            try FileManager.default.createDirectory(atPath: dir.join("shared"), withIntermediateDirectories: true)
            #expect(chmod(dir.join("shared"), 0o1777) == 0)
            try FileManager.default.createDirectory(atPath: dir.join("victim"), withIntermediateDirectories: true)
            try Data("precious".utf8).write(to: URL(fileURLWithPath: dir.join("victim/file")))
            #expect(chmod(dir.join("victim/file"), 0o600) == 0)
        }

        /// A symlink at `path` to `target`, owned by `owner`.
        func plantLink(_ path: String, to target: String, owner: uid_t = InstallBoundaryTests.attacker) throws {
            try FileManager.default.createSymbolicLink(atPath: dir.join(path), withDestinationPath: target)
            #expect(lchown(dir.join(path), owner, owner) == 0)
        }

        func read(_ path: String) -> String? { try? String(contentsOfFile: dir.join(path), encoding: .utf8) }
        func kind(_ path: String) -> FileSystem.Kind { FileSystem.kind(dir.join(path)) }
        var victimIntact: Bool {
            read("victim/file") == "precious" && (try? FileManager.default.contentsOfDirectory(atPath: dir.join("victim"))) == ["file"]
        }
    }

    func runner(_ unpacker: FakeUnpacker? = nil) -> PipelineRunner {
        makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()], unpacker: unpacker)
    }

    /// `--output /tmp/k.zip` where another user planted `/tmp/k.zip -> /etc/shadow`: the link is
    /// replaced, as `mv` would; the file it points at keeps its bytes and its mode.
    @Test func outputOverAPlantedSymlinkReplacesTheLinkNotItsTarget() async throws {
        let scene = try Scene()
        try scene.plantLink("shared/k.zip", to: scene.dir.join("victim/file"))
        _ = try await runner().run(PackageRequest(url: "x", target: .file(path: scene.dir.join("shared/k.zip"))))
        #expect(scene.victimIntact)
        #expect(scene.kind("shared/k.zip") == .file)
        #expect(scene.read("shared/k.zip") == "package bytes")
        var info = stat()
        #expect(stat(scene.dir.join("victim/file"), &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    /// A merge into a planted link in a sticky world-writable directory: the protected-symlinks rule
    /// would not follow it, so pkgfetch refuses (exit 70) before fetching, and nothing lands behind it.
    @Test func mergeIntoAPlantedSymlinkIsRefused() async throws {
        let scene = try Scene()
        try scene.plantLink("shared/pkgdir", to: scene.dir.join("victim"))
        let fetcher = ScriptedFetcher()
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": fetcher],
                                unpacker: FakeUnpacker(files: ["file": "overwritten", "extra": "planted"]))
        let thrown = await #expect(throws: PkgfetchError.self) {
            try await runner.run(PackageRequest(url: "x", target: .directory(path: scene.dir.join("shared/pkgdir"), mode: .merge, unpack: true)))
        }
        #expect(thrown?.kind == .destinationIO)
        #expect(thrown?.message.contains("refusing to follow the symlink \(scene.dir.join("shared/pkgdir"))") == true, "\(thrown?.message ?? "")")
        #expect(fetcher.attemptCount == 0)
        #expect(scene.victimIntact)
        #expect(Files.stagingDirectories(in: scene.dir.join("shared")).isEmpty)
    }

    /// `--replace` onto a planted link swaps the link itself for the new directory; the tree it
    /// pointed at is never deleted.
    @Test func replaceOverAPlantedSymlinkNeverDeletesTheTreeBehindIt() async throws {
        let scene = try Scene()
        try scene.plantLink("shared/pkgdir", to: scene.dir.join("victim"))
        _ = try await runner(FakeUnpacker(files: ["kubelet": "new"]))
            .run(PackageRequest(url: "x", target: .directory(path: scene.dir.join("shared/pkgdir"), mode: .replace, unpack: true)))
        #expect(scene.victimIntact)
        #expect(scene.kind("shared/pkgdir") == .directory)
        #expect(scene.read("shared/pkgdir/kubelet") == "new")
        #expect(Files.stagingDirectories(in: scene.dir.join("shared")).isEmpty)
    }

    /// A planted link in the middle of the path is not followed either.
    @Test func aPlantedSymlinkOnTheWayIsRefused() async throws {
        let scene = try Scene()
        try scene.plantLink("shared/tools", to: scene.dir.join("victim"))
        let thrown = await #expect(throws: PkgfetchError.self) {
            try await runner().run(PackageRequest(url: "x", target: .file(path: scene.dir.join("shared/tools/file"))))
        }
        #expect(thrown?.kind == .destinationIO)
        #expect(scene.victimIntact)
    }

    /// Links the rule allows are followed, as the kernel would: one we own in the sticky directory,
    /// and any in a directory only its owner may write (`/var -> /private/var`, a symlinked `/opt`).
    @Test func symlinksTheProtectedRuleAllowsAreFollowed() async throws {
        let scene = try Scene()
        try FileManager.default.createDirectory(atPath: scene.dir.join("real/bin"), withIntermediateDirectories: true)
        try scene.plantLink("shared/ours", to: scene.dir.join("real/bin"), owner: getuid())
        try scene.plantLink("opt", to: "real", owner: Self.attacker)   // not in a sticky directory
        let merge = runner(FakeUnpacker(files: ["azure-vnet": "merged"]))
        _ = try await merge.run(PackageRequest(url: "x", target: .directory(path: scene.dir.join("shared/ours"), mode: .merge, unpack: true)))
        #expect(scene.read("real/bin/azure-vnet") == "merged")
        #expect(scene.kind("shared/ours") == .symlink)
        _ = try await runner().run(PackageRequest(url: "x", target: .file(path: scene.dir.join("opt/new/k.zip"))))
        #expect(scene.read("real/new/k.zip") == "package bytes")
        #expect(scene.kind("opt") == .symlink)
    }

    /// `..` is taken lexically: `a/link/../b` is `a/b`, wherever `link` points.
    @Test func destinationPathsAreNormalisedLexically() async throws {
        let scene = try Scene()
        try FileManager.default.createDirectory(atPath: scene.dir.join("a"), withIntermediateDirectories: true)
        try scene.plantLink("a/link", to: scene.dir.join("victim"), owner: getuid())
        _ = try await runner().run(PackageRequest(url: "x", target: .file(path: scene.dir.join("a/link/../b"))))
        #expect(scene.read("a/b") == "package bytes")
        #expect(scene.victimIntact)
        #expect(FileSystem.absolute(scene.dir.join("a/link/../b")) == scene.dir.join("a/b"))
    }

    /// While merges run, another user swaps a destination directory they can write in for a symlink
    /// to the victim and back, over and over. The merge must never write through the link: each
    /// directory is entered by handle with O_NOFOLLOW, and the renames happen relative to it.
    @Test func aDirectorySwappedForASymlinkDuringTheMergeIsNotFollowed() async throws {
        let scene = try Scene()
        let bin = scene.dir.join("bin")
        try FileManager.default.createDirectory(atPath: bin + "/sub", withIntermediateDirectories: true)
        let merge = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()],
                               unpacker: ManyFilesUnpacker(directory: "sub", count: 50))
        let stop = StopFlag()
        let swapper = Thread {
            while !stop.value.load(ordering: .relaxed) {
                guard rename(bin + "/sub", bin + "/sub.real") == 0 else {
                    // The merge moved a new `sub` in while the real one was away: start over.
                    _ = rename(bin + "/sub.real", bin + "/sub.old-\(UUID().uuidString)")
                    usleep(100)
                    continue
                }
                _ = symlink(scene.dir.join("victim"), bin + "/sub")
                usleep(100)
                unlink(bin + "/sub")
                rename(bin + "/sub.real", bin + "/sub")
                usleep(100)
            }
        }
        swapper.start()
        for _ in 0..<30 {
            _ = try? await merge.run(PackageRequest(url: "x", target: .directory(path: bin, mode: .merge, unpack: true)))
        }
        stop.value.store(true, ordering: .relaxed)
        while !swapper.isFinished { usleep(1000) }
        #expect(scene.victimIntact, "files landed behind the symlink: \((try? FileManager.default.contentsOfDirectory(atPath: scene.dir.join("victim")))?.count ?? 0)")
        #expect(Files.stagingDirectories(in: scene.dir.path).isEmpty)
    }
}

/// Writes `count` small files into `directory` of the tree with plain system calls: quick, so the
/// swap race above gets many rounds.
private struct ManyFilesUnpacker: Unpacker {
    var directory: String
    var count: Int

    func unpack(_ archive: String, format: ArchiveFormat, into tree: String, limits: UnpackLimits) throws -> UnpackReport {
        try #require(mkdir(tree + "/" + directory, 0o755) == 0)
        for index in 0..<count {
            let file = open(tree + "/" + directory + "/plugin-\(index)", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            try #require(file >= 0)
            _ = write(file, "new", 3)
            close(file)
        }
        return UnpackReport(entries: count + 1, bytes: Int64(count * 3), detectedFormat: "fake")
    }
}

private final class StopFlag: Sendable {
    let value = Atomic(false)
}
