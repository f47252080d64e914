import Foundation
@testable import Pipeline
import Testing
import TestSupport

/// A staging area names its owner (pid, start time, boot, pid namespace), so the next run knows at
/// once whether that process still runs: a dead owner's area is recovered and removed without waiting,
/// a live one's is never touched.
@Suite(.offPool) struct StagingOwnerTests {
    static func endedProcess() throws -> pid_t {
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        return ended.processIdentifier
    }

    @Test func anOwnerIsAliveOnlyWhileThatVeryProcessRuns() throws {
        let me = try #require(StagingOwner.current)
        #expect(me.liveness == .alive)
        #expect(StagingOwner(parsing: me.encoded) == me)
        var ended = me
        ended.pid = try Self.endedProcess()
        #expect(ended.liveness == .gone)
        var reused = me
        reused.startTime += 1
        #expect(reused.liveness == .gone, "the same pid started at another time is another process")
        var rebooted = me
        rebooted.boot = Array("00000000-0000-0000-0000-000000000000".utf8)
        #expect(rebooted.liveness == .gone)
        var elsewhere = ended
        elsewhere.pidNamespace = Array("pid:[1]".utf8)
        #expect(elsewhere.liveness == .unknown, "a pid of another namespace says nothing here")
        // A record cut short is no record (its start time could read as another number).
        for cut in 0..<me.encoded.count { #expect(StagingOwner(parsing: Array(me.encoded.prefix(cut))) == nil) }
    }

    @Test func theStartTimeIsField22OfTheStatLine() {
        let line = "4711 (a) b) S 1 12 12 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10"
        #expect(ProcessStat(Array(line.utf8))?.startTime == 98765)
        #expect(ProcessStat(Array("12 (x) Z 1 12 12".utf8))?.startTime == nil)
        #expect(ProcessStat.of(getpid())?.startTime != nil)
    }

    @Test func aDeadOwnersStagingGoesAtOnceAndALiveOnesStays() throws {
        let dir = try TemporaryDirectory("owner")
        let out = dir.join("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let live = try StagingArea(near: out + "/k.tgz")
        var dead = try #require(StagingOwner.current)
        dead.pid = try Self.endedProcess()
        let deadName = ".pkgfetch-staging-\(dead.pid)-0deadbee"
        try FileManager.default.createDirectory(atPath: out + "/" + deadName, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        try Data(dead.encoded).write(to: URL(fileURLWithPath: out + "/" + deadName + "/owner"))
        try Files.writeRandom(out + "/" + deadName + "/source-0", size: 1000)

        let next = try StagingArea(near: out + "/k.tgz")
        let names = [live.path, next.path].map { ($0 as NSString).lastPathComponent }.sorted()
        #expect(Files.stagingDirectories(in: out) == names, "written a moment ago, yet its owner is gone")
        try live.remove()
        try next.remove()
        #expect(Files.stagingDirectories(in: out).isEmpty)
    }

    /// Killed between making its area and writing the owner record: an area of a gone pid holding
    /// nothing (or a cut record) goes at once; one holding staged bytes but no record keeps the
    /// 10-minute rule, since its owner cannot be told.
    @Test func anAreaKilledBeforeItsOwnerRecordGoesAtOnceOnlyWhileEmpty() throws {
        let dir = try TemporaryDirectory("owner-unborn")
        let out = dir.join("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let pid = try Self.endedProcess()
        let empty = ".pkgfetch-staging-\(pid)-0e0e0e0e", cut = ".pkgfetch-staging-\(pid)-0c0c0c0c", full = ".pkgfetch-staging-\(pid)-0f0f0f0f"
        for name in [empty, cut, full] {
            try FileManager.default.createDirectory(atPath: out + "/" + name, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
        }
        try Data("pid ".utf8).write(to: URL(fileURLWithPath: out + "/" + cut + "/owner"))
        try Files.writeRandom(out + "/" + full + "/source-0", size: 1000)

        let next = try StagingArea(near: out + "/k.tgz")
        let names = [full, (next.path as NSString).lastPathComponent].sorted()
        #expect(Files.stagingDirectories(in: out).sorted() == names)
        try next.remove()
        try FileManager.default.removeItem(atPath: out + "/" + full)
    }
}
