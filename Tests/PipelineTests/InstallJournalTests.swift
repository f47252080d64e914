import Foundation
@testable import Pipeline
import Testing
import TestSupport

/// A journaled install stopped dead after each of its steps (as SIGKILL or a power cut would stop it),
/// then recovered as the next run recovers a dead run's staging: the destination ends old when the
/// install had not committed, new when it had, never mixed; and a recovery stopped dead after each of
/// its own steps is recovered again to the same end.
@Suite(.offPool) struct InstallJournalTests {
    /// A destination and a staging area beside it, in one temporary directory.
    struct Scene {
        let work: TemporaryDirectory
        var parent: String { work.path }
        var destination: String { work.join("dest") }
        var staging: String { work.join(".pkgfetch-staging-1-test") }

        /// The old content of `dest` and the new tree staged: replaced files, a replaced symlink, a
        /// file in a directory both have, files and a directory only the package has, files only the
        /// destination has.
        init() throws {
            work = try TemporaryDirectory("journal")
            let manager = FileManager.default
            for directory in ["dest/d", "dest/only-old-dir", ".pkgfetch-staging-1-test/tree/d", ".pkgfetch-staging-1-test/tree/nd/deeper"] {
                try manager.createDirectory(atPath: work.join(directory), withIntermediateDirectories: true)
            }
            #expect(chmod(staging, 0o700) == 0)
            for name in ["a", "b", "d/x", "d/kept", "only-old", "only-old-dir/f", "odd \u{1}\n name"] { try write("dest/" + name, "old " + name) }
            try manager.createSymbolicLink(atPath: work.join("dest/c"), withDestinationPath: "old-target")
            for name in ["a", "b", "d/x", "n", "nd/y", "nd/deeper/z", "odd \u{1}\n name"] {
                try write(".pkgfetch-staging-1-test/tree/" + name, "new " + name)
            }
            try manager.createSymbolicLink(atPath: work.join(".pkgfetch-staging-1-test/tree/c"), withDestinationPath: "new-target")
        }

        func write(_ relative: String, _ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: work.join(relative)))
        }

        /// Every entry below `dest`: a file's text, a link's target, a directory's mark.
        func snapshot(_ root: String? = nil) -> [String: String] {
            let root = root ?? destination
            var found: [String: String] = [:]
            for relative in (try? FileManager.default.subpathsOfDirectory(atPath: root)) ?? [] {
                let full = root + "/" + relative
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: full) {
                    found[relative] = "link " + target
                } else if (try? FileManager.default.contentsOfDirectory(atPath: full)) != nil {
                    found[relative] = "directory"
                } else {
                    found[relative] = (try? String(contentsOfFile: full, encoding: .utf8)) ?? "unreadable"
                }
            }
            return found
        }

        func handle(_ path: String) throws -> DirectoryHandle { try PathWalk.openDirectory(LexicalPath(path)) }

        /// The merge of the staged tree into `dest`, as `Installer` journals it.
        func mergeInstall(crashAfter: Int?) throws -> JournaledInstall {
            let destination = try handle(destination), staging = try handle(staging)
            let operations = try Installer.mergeOperations(try staging.openDirectory(Array("tree".utf8)), into: destination,
                                                           stagedAs: Array("tree".utf8))
            let top = try destination.status()
            let journal = InstallJournal(device: UInt64(top.st_dev), destination: UInt64(top.st_ino), operations: operations)
            return JournaledInstall(journal, into: destination, staging: staging, crashAfter: crashAfter)
        }

        /// `--replace` where the file system cannot swap: `dest` itself, swapped for the staged tree in two renames.
        func replaceInstall(crashAfter: Int?) throws -> JournaledInstall {
            let parent = try handle(parent), staging = try handle(staging)
            let old = try #require(try parent.status(of: Array("dest".utf8)))
            let new = try #require(try staging.status(of: Array("tree".utf8)))
            let top = try parent.status()
            let operation = InstallJournal.Operation(destination: [Array("dest".utf8)], staged: [Array("tree".utf8)],
                                                     new: UInt64(new.st_ino), old: UInt64(old.st_ino))
            let journal = InstallJournal(device: UInt64(top.st_dev), destination: UInt64(top.st_ino), operations: [operation])
            return JournaledInstall(journal, into: parent, staging: staging, crashAfter: crashAfter)
        }

        var committed: Bool { FileManager.default.fileExists(atPath: staging + "/install-committed") }

        func recover(crashAfter: Int? = nil) throws {
            try InstallRecovery.recover(try handle(staging), in: try handle(parent), crashAfter: crashAfter)
        }

        /// Removes the staging area as a later run does (recovering first).
        func removeStaging() throws {
            let parent = try handle(parent)
            let name = Array(".pkgfetch-staging-1-test".utf8)
            try StagingDirectory(parent: parent, handle: try parent.openDirectory(name), name: name, interruption: nil).remove()
        }
    }

    /// What `dest` holds after the install runs to its end, and before.
    static func ends(_ make: (Scene, Int?) throws -> JournaledInstall) throws -> (old: [String: String], new: [String: String], steps: Int) {
        let scene = try Scene()
        let old = scene.snapshot()
        var install = try make(scene, nil)
        try install.run(durable: false)
        // The steps: one more than the crash points that stop the install before its end.
        var steps = 1
        while true {
            let probe = try Scene()
            var stopped = try make(probe, steps)
            do { try stopped.run(durable: false) } catch is JournaledInstall.Crash { steps += 1; continue }
            break
        }
        return (old, scene.snapshot(), steps)
    }

    @Test(arguments: ["merge", "replace"])
    func aCrashAfterAnyStepIsRolledBackOrFinishedByTheNextRun(kind: String) throws {
        let make: (Scene, Int?) throws -> JournaledInstall = { kind == "merge" ? try $0.mergeInstall(crashAfter: $1) : try $0.replaceInstall(crashAfter: $1) }
        let (old, new, steps) = try Self.ends(make)
        #expect(old != new)
        // The merge: 1 journal + per replaced entry 2 (link, rename) + per added entry 1 + 1 commit.
        #expect(steps > (kind == "merge" ? 10 : 3))
        var sawCommitted = false, sawRolledBack = false
        for crash in 1..<steps {
            let scene = try Scene()
            var install = try make(scene, crash)
            #expect(throws: JournaledInstall.Crash.self) { try install.run(durable: false) }
            let expected = scene.committed ? new : old
            if scene.committed { sawCommitted = true } else { sawRolledBack = true }
            try scene.recover()
            #expect(scene.snapshot() == expected, "crash after step \(crash) of \(steps)")
            // Recovering again changes nothing; the staging area then goes.
            try scene.recover()
            try scene.removeStaging()
            #expect(scene.snapshot() == expected, "crash after step \(crash), recovered twice")
            #expect(!FileManager.default.fileExists(atPath: scene.staging))
        }
        #expect(sawCommitted && sawRolledBack)
    }

    /// The recovery itself stopped dead after each of its steps, then run again.
    @Test(arguments: ["merge", "replace"])
    func aCrashDuringRecoveryIsRecoveredAgain(kind: String) throws {
        let make: (Scene, Int?) throws -> JournaledInstall = { kind == "merge" ? try $0.mergeInstall(crashAfter: $1) : try $0.replaceInstall(crashAfter: $1) }
        let (old, _, steps) = try Self.ends(make)
        // Stopped just before the commit (the last step): every rename done, so the rollback has the most to undo.
        let lastBeforeCommit = steps - 2
        var recoverySteps = 0
        for recoveryCrash in 1...200 {
            let scene = try Scene()
            var install = try make(scene, lastBeforeCommit)
            #expect(throws: JournaledInstall.Crash.self) { try install.run(durable: false) }
            #expect(!scene.committed)
            do {
                try scene.recover(crashAfter: recoveryCrash)
                recoverySteps = recoveryCrash
                break
            } catch is JournaledInstall.Crash {}
            try scene.recover()
            #expect(scene.snapshot() == old, "recovery stopped after its step \(recoveryCrash)")
            try scene.removeStaging()
            #expect(scene.snapshot() == old)
        }
        #expect(recoverySteps > 1)
    }

    /// A journal cut short or damaged: the recovery undoes what the lines that still parse prove, and
    /// never traps; the staging area is removed after it.
    @Test func aDamagedJournalRollsBackWhatItCanProve() throws {
        let (old, new, steps) = try Self.ends { try $0.mergeInstall(crashAfter: $1) }
        // Stopped just before the commit: every rename done.
        let lastBeforeCommit = steps - 2
        let probe = try Scene()
        var install = try probe.mergeInstall(crashAfter: lastBeforeCommit)
        #expect(throws: JournaledInstall.Crash.self) { try install.run(durable: false) }
        let whole = try Data(contentsOf: URL(fileURLWithPath: probe.staging + "/install-journal"))
        let cuts = Array(stride(from: 0, to: whole.count, by: max(1, whole.count / 40))) + [whole.count - 1, whole.count]
        for cut in cuts {
            for damage in ["cut", "garbage"] {
                let scene = try Scene()
                var install = try scene.mergeInstall(crashAfter: lastBeforeCommit)
                #expect(throws: JournaledInstall.Crash.self) { try install.run(durable: false) }
                var bytes = try Data(contentsOf: URL(fileURLWithPath: scene.staging + "/install-journal"))
                if damage == "cut" {
                    bytes = bytes.prefix(cut)
                } else {
                    bytes.replaceSubrange(cut..<min(cut + 5, bytes.count), with: Data([0xFF, 0x00, 0x20, 0x0A, 0x2F]))
                }
                try bytes.write(to: URL(fileURLWithPath: scene.staging + "/install-journal"))
                try scene.removeStaging()
                #expect(!FileManager.default.fileExists(atPath: scene.staging))
                let after = scene.snapshot()
                // A whole journal proves everything; a damaged one what parses. No entry is lost or made up.
                if damage == "cut", cut == whole.count { #expect(after == old) }
                for (path, text) in after { #expect(text == old[path] || text == new[path], "\(damage) at \(cut): \(path)") }
                for path in old.keys { #expect(after[path] != nil, "\(damage) at \(cut): \(path) lost") }
            }
        }
    }

    @Test func aJournalReadsBackWhateverBytesTheNamesHold() throws {
        let names: [[UInt8]] = [[0x01, 0xFF, 0x20, 0x0A], Array("plain".utf8), [0x2E, 0x2E, 0x2E]]
        let journal = InstallJournal(device: 2049, destination: 77, operations: [
            .init(destination: names, staged: [Array("tree".utf8)] + names, new: 5, old: 6),
            .init(destination: [Array("n".utf8)], staged: [Array("tree".utf8), Array("n".utf8)], new: 9, old: nil),
        ])
        let parsed = try #require(InstallJournal.parse(journal.encoded))
        #expect(parsed.journal == journal && parsed.complete)
        // Cut anywhere: never more than what was written, and incomplete.
        for cut in 0..<journal.encoded.count {
            guard let partial = InstallJournal.parse(Array(journal.encoded.prefix(cut))) else { continue }
            #expect(!partial.complete)
            #expect(journal.operations.starts(with: partial.journal.operations))
        }
        // A path that would lead out of its directory is not an operation.
        let escaping = Array("pkgfetch-install-journal 1\ndestination 1 2\nswap 5 6 2e2e/61 74\nend 1\n".utf8)
        #expect(InstallJournal.parse(escaping)?.journal.operations == [])
    }
}
