import Foundation
import Testing
import TestSupport

/// A zip from a real nginx with `--dest`: unpacked while it arrives, installed as bsdtar unpacks the
/// file (contents and modes); one whose central directory disagrees with its local headers is refused
/// (61) with one line, and the destination keeps what it held.
@Suite(.offPool) struct StreamedZipDownloadTests {
    /// A zip of `bin/` (8 random files of 200 000 bytes, one executable) in nginx's root; its path.
    static func publish(_ cdn: Nginx, _ work: TemporaryDirectory, _ name: String) throws -> String {
        let tree = work.join("tree")
        try FileManager.default.createDirectory(atPath: tree + "/bin", withIntermediateDirectories: true)
        for file in 0..<8 { try Files.writeRandom(tree + "/bin/tool-\(file)", size: 200_000, seed: UInt64(file)) }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tree + "/bin/tool-0")
        let zip = try Processes.run(["sh", "-c", "command -v zip"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!zip.isEmpty, "zip is needed: apt-get install zip")
        _ = try Processes.check(["sh", "-c", "cd \(tree) && zip -qrX \(cdn.file(name)) bin"])
        return cdn.file(name)
    }

    /// Path, mode and SHA-256 of every file under `root`, sorted.
    static func files(under root: String) throws -> [String] {
        let walker = FileManager.default.enumerator(atPath: root)
        var lines: [String] = []
        while let relative = walker?.nextObject() as? String {
            let path = root + "/" + relative
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let mode = String((attributes[.posixPermissions] as? Int) ?? 0, radix: 8)
            let isFile = attributes[.type] as? FileAttributeType == .typeRegular
            lines.append("\(relative) \(mode) \(isFile ? try Files.sha256(path) : "dir")")
        }
        return lines.sorted()
    }

    @Test func aZipFromNginxIsUnpackedWhileItArrivesIntoWhatBsdtarMakes() async throws {
        let work = try TemporaryDirectory("e2e-streamed-zip")
        let cdn = try Nginx(root: work.join("cdn"))
        let archive = try Self.publish(cdn, work, "pkg.zip")
        let size = try FileManager.default.attributesOfItem(atPath: archive)[.size] as! Int
        let arguments = ["timeout", "60", try PkgfetchCLI.path, "fetch", cdn.url("/slow/pkg.zip"), "--dest", work.join("opt"),
                         "--sha256", try Files.sha256(archive)]
        let environment = LoopbackCLI.environment()
        let fetch = Task { try await offPool { try Processes.run(arguments, environment: environment) } }
        // At 1 MB/s, the 1.6 MB zip takes over a second: a whole file is unpacked before it has all arrived.
        var seenAhead = false
        let started = ContinuousClock.now
        while !seenAhead, started.duration(to: .now) < .seconds(20) {
            for staging in Files.stagingDirectories(in: work.path) {
                let directory = work.join(staging)
                let arrived = (try? FileManager.default.attributesOfItem(atPath: directory + "/source-0"))?[.size] as? Int
                let unpacked = (try? FileManager.default.attributesOfItem(atPath: directory + "/tree/bin/tool-0"))?[.size] as? Int
                if let arrived, arrived < size, unpacked == 200_000 { seenAhead = true }
            }
            usleep(2000)
        }
        let run = try await fetch.value
        #expect(run.status == 0, "\(run.stderr)")
        #expect(seenAhead, "a file was unpacked while the zip was arriving")
        _ = try Processes.check(["mkdir", "-p", work.join("oracle")])
        _ = try Processes.check(["bsdtar", "-xf", archive, "-C", work.join("oracle")])
        #expect(try Self.files(under: work.join("opt")) == (try Self.files(under: work.join("oracle"))))
        #expect(try Self.files(under: work.join("opt")).contains { $0.hasPrefix("bin/tool-0 755 ") })
    }

    @Test func aZipWhoseCentralDirectoryRenamesAnEntryIsRefused() async throws {
        let work = try TemporaryDirectory("e2e-streamed-zip-refused")
        let cdn = try Nginx(root: work.join("cdn"))
        let archive = try Self.publish(cdn, work, "pkg.zip")
        // The central directory's record of bin/tool-3 renamed bin/tool-9 (same length); local header kept.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        let record = Data([0x50, 0x4B, 0x01, 0x02])
        var search = bytes.startIndex
        var patched = false
        while let found = bytes.range(of: record, in: search..<bytes.endIndex) {
            let name = (found.lowerBound + 46)..<(found.lowerBound + 46 + 10)
            if bytes[name] == Data("bin/tool-3".utf8) {
                bytes.replaceSubrange(name, with: Data("bin/tool-9".utf8))
                patched = true
            }
            search = found.upperBound
        }
        #expect(patched)
        try bytes.write(to: URL(fileURLWithPath: archive))
        try FileManager.default.createDirectory(atPath: work.join("opt"), withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: work.join("opt/old")))
        let (run, _) = try await LoopbackCLI.fetch([cdn.url("/pkg.zip"), "--dest", work.join("opt"), "--sha256", try Files.sha256(archive)])
        #expect(run.status == 61, "\(run.stderr)")
        #expect(run.stderr.contains("zip refused: the local header at offset"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.join("opt")) == ["old"])
        #expect(Files.stagingDirectories(in: work.path).isEmpty)
    }
}
