import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// What a helper run as root may be and get (issue 20, holes 2 and 6): a symlink counts with the
/// directory that holds it and its owner, not only with the file it names; a helper's HOME is the
/// effective user's own, never the caller's.
@Suite(.offPool) struct HelperTrustTests {
    /// A root-owned script in a directory only root writes, that records each run in `marker`.
    func safeScript(in work: TemporaryDirectory, marker: String) throws -> String {
        let safe = work.join("safe")
        try FileManager.default.createDirectory(atPath: safe, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: safe)
        let script = "\(safe)/tool"
        try Data("#!/bin/sh\necho ran >> \(marker)\nprintf content\n".utf8).write(to: URL(fileURLWithPath: script))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        return script
    }

    /// `nobody` plants `pkgfetch-fetch-evil -> <a root-owned executable>` in a helpers directory anyone
    /// can write: the file it names passes every check, the link does not, so it is refused (exit 11)
    /// and never run. The same link made by root there is refused too (anyone could have replaced
    /// it before), and in a directory only root writes it runs.
    @Test func asRootAPlantedSymlinkToARootExecutableIsRefused() throws {
        try #require(geteuid() == 0, "this check is about root: run the tests as root (as CI does)")
        let work = try TemporaryDirectory("helper-link")
        let marker = work.join("ran")
        let target = try safeScript(in: work, marker: marker)
        let helpers = work.join("helpers")
        try FileManager.default.createDirectory(atPath: helpers, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: helpers)
        let link = "\(helpers)/pkgfetch-fetch-evil"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(lchown(link, 65534, 65534) == 0)

        let (planted, _) = try HelperCommandTests.pkgfetch(["fetch", "evil://b/x.bin", "--output", work.join("x"), "--helpers-dir", helpers])
        #expect(planted.status == 11, "\(planted.stderr)")
        #expect(planted.stderr.split(separator: "\n").count == 1, "\(planted.stderr)")
        #expect(planted.stderr.contains("error[no-source]: refusing to run helper \(link): the symlink \(link) is owned by uid 65534, not root"),
                "\(planted.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker), "the planted link was run")

        #expect(lchown(link, 0, 0) == 0)
        let (rootsLink, _) = try HelperCommandTests.pkgfetch(["fetch", "evil://b/x.bin", "--output", work.join("x"), "--helpers-dir", helpers])
        #expect(rootsLink.status == 11, "\(rootsLink.stderr)")
        #expect(rootsLink.stderr.contains("the directory \(helpers) of the symlink \(link) is writable by others (mode 777)"), "\(rootsLink.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker))

        // A link of a link: the first is root's in a safe directory, the second planted where anyone writes.
        let safeHelpers = work.join("safe-helpers")
        try FileManager.default.createDirectory(atPath: safeHelpers, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: safeHelpers)
        try FileManager.default.createSymbolicLink(atPath: "\(safeHelpers)/pkgfetch-fetch-evil", withDestinationPath: link)
        let (chained, _) = try HelperCommandTests.pkgfetch(["fetch", "evil://b/x.bin", "--output", work.join("x"), "--helpers-dir", safeHelpers])
        #expect(chained.status == 11, "\(chained.stderr)")
        #expect(chained.stderr.contains("of the symlink \(link) is writable by others"), "\(chained.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker))

        // Root's link in a directory only root writes, to the same file: run.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: helpers)
        let (safe, _) = try HelperCommandTests.pkgfetch(["fetch", "evil://b/x.bin", "--output", work.join("x"), "--helpers-dir", safeHelpers])
        #expect(safe.status == 0, "\(safe.stderr)")
        #expect(try String(contentsOfFile: work.join("x"), encoding: .utf8) == "content")
        #expect(FileManager.default.fileExists(atPath: marker))
    }

    /// The caller's HOME (under `sudo -E`, the invoking user's, whose start-up files would run as
    /// root) is not passed: a helper gets the effective user's home from its passwd entry.
    @Test func aHelperGetsTheEffectiveUsersOwnHome() throws {
        let work = try TemporaryDirectory("helper-home")
        let helpers = try TestHelpers(in: work)
        try helpers.write("home", "echo \"HOME=${HOME-unset}\" > \(work.join("home"))\nprintf x")
        let attacker = work.join("attacker-home")
        let (run, _) = try HelperCommandTests.pkgfetch(["fetch", "home://b/x.bin", "--output", work.join("x"), "--helpers-dir", helpers.directory],
                                                       environment: ["HOME": attacker])
        #expect(run.status == 0, "\(run.stderr)")
        let own = try #require(getpwuid(geteuid())).pointee.pw_dir.map { String(cString: $0) }
        #expect(try String(contentsOfFile: work.join("home"), encoding: .utf8) == "HOME=\(own ?? "unset")\n")

        let (refused, _) = try HelperCommandTests.pkgfetch(["fetch", "home://b/x.bin", "--output", work.join("y"), "--helper-env", "HOME",
                                                            "--helpers-dir", helpers.directory], environment: ["HOME": attacker])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("--helper-env cannot pass HOME"), "\(refused.stderr)")
    }
}
