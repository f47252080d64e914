import Foundation
import Testing
import TestSupport
@testable import Pipeline

/// A power cut after the commit can lose renames the journal committed (the directory entries were
/// not on disk yet): the next run finishes them, so the destination ends new, never a mix.
@Suite(.offPool) struct InstallRecoveryFinishTests {
    @Test func aCommittedRenameThatWasLostIsDoneByTheNextRun() throws {
        let (_, new, _) = try InstallJournalTests.ends { try $0.mergeInstall(crashAfter: $1) }
        let scene = try InstallJournalTests.Scene()
        var install = try scene.mergeInstall(crashAfter: nil)
        try install.run(durable: false)
        #expect(scene.committed)
        // As if the rename of a file only the package has never reached the disk: it is staged again.
        #expect(rename(scene.destination + "/n", scene.staging + "/tree/n") == 0)
        #expect(scene.snapshot() != new)
        try scene.recover()
        #expect(scene.snapshot() == new)
        try scene.removeStaging()
        #expect(scene.snapshot() == new)
    }
}
