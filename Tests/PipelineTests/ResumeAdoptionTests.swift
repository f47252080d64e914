import Crypto
import Foundation
@testable import Pipeline
import Testing
import TestSupport

/// A dead run's partial download with a resume record is handed to the next run's download of the
/// same source, its bytes hashed again; anything else in the dead area goes with it.
@Suite(.offPool) struct ResumeAdoptionTests {
    static let source = Source.url("https://cdn.example/pkg.tgz?sig=secret")

    /// A dead owner's staging area in `out` holding `files` (name → content).
    static func deadArea(in out: String, _ files: [String: [UInt8]]) throws -> String {
        var dead = try #require(StagingOwner.current)
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        dead.pid = ended.processIdentifier
        let path = out + "/.pkgfetch-staging-\(dead.pid)-0deadbee"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try Data(dead.encoded).write(to: URL(fileURLWithPath: path + "/owner"))
        for (name, bytes) in files { try Data(bytes).write(to: URL(fileURLWithPath: path + "/" + name)) }
        return path
    }

    static func record(size: Int64, source: Source = source) -> ResumeRecord {
        ResumeRecord(source: source, validator: .entityTag("\"v1\""), totalSize: size)!
    }

    @Test func aRecordedPartialDownloadIsAdoptedAndHashedAgain() throws {
        let dir = try TemporaryDirectory("adopt")
        let out = dir.join("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let prefix = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        _ = try Self.deadArea(in: out, ["source-0": prefix, "source-0.resume": Self.record(size: 1_000_000).encoded,
                                        "tree": [1, 2, 3]])
        let staging = try StagingArea(for: .file(path: out + "/pkg.tgz"), role: .installed, resuming: [Self.source])
        #expect(Files.stagingDirectories(in: out) == [(staging.path as NSString).lastPathComponent], "the dead area is gone")
        let (file, version) = try staging.file(named: "source-0", for: Self.source)
        #expect(version == .entityTag("\"v1\""))
        #expect(file.byteCount == Int64(prefix.count))
        let rest: [UInt8] = [9, 8, 7]
        try rest.withUnsafeBytes { try file.write($0) }
        let (digest, size) = try file.finish()
        #expect(size == Int64(prefix.count + rest.count))
        #expect(digest == SHA256Digest(SHA256.hash(data: prefix + rest)), "the adopted bytes are in the digest")
        // A second download of the same source in this run starts empty: the bytes went to the first.
        #expect(try staging.file(named: "source-1", for: Self.source).stagedVersion == nil)
        try staging.remove()
    }

    /// A ranged copy killed with bytes placed ahead of its hashed prefix (holes between): its record
    /// names the prefix, and the next run adopts only that, cutting the rest off.
    @Test func bytesPlacedAheadAreNotAdopted() throws {
        let dir = try TemporaryDirectory("adopt")
        let out = dir.join("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let content = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        let dead = try Self.deadArea(in: out, [:])
        do {
            let killed = try StagingFile(path: dead + "/source-0", role: .installed)
            try content[0..<1_000_000].withUnsafeBytes { try killed.write($0) }
            try killed.sync()  // waits for the prefix to be hashed and written
            killed.recordResumable(Self.record(size: Int64(content.count)))
            try content[2_000_000..<2_500_000].withUnsafeBytes { try killed.write($0, at: 2_000_000) }
            // No finish: the run is killed here, the file 2.5 MB long with a hole from 1 MB.
        }
        let recorded = try #require(ResumeRecord(parsing: Array(try Data(contentsOf: URL(fileURLWithPath: dead + "/source-0.resume")))))
        #expect(recorded.staged == 1_000_000)
        let staging = try StagingArea(for: .file(path: out + "/pkg.tgz"), role: .installed, resuming: [Self.source])
        let (file, version) = try staging.file(named: "source-0", for: Self.source)
        #expect(version == .entityTag("\"v1\""))
        #expect(file.byteCount == 1_000_000, "only the hashed prefix is adopted")
        try content[1_000_000...].withUnsafeBytes { try file.write($0) }
        let (digest, size) = try file.finish()
        #expect(size == Int64(content.count))
        #expect(digest == SHA256Digest(SHA256.hash(data: content)))
        try staging.remove()
    }

    /// Bytes placed ahead join the digest, in order, once the prefix reaches them; the file ends at its content.
    @Test func bytesPlacedAheadAreHashedInOrder() throws {
        let dir = try TemporaryDirectory("placed")
        let content = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        let file = try StagingFile(path: dir.join("file"), role: .installed)
        try content[2_000_000...].withUnsafeBytes { try file.write($0, at: 2_000_000) }
        try content[0..<1_500_000].withUnsafeBytes { try file.write($0) }
        try content[1_500_000..<2_000_000].withUnsafeBytes { try file.write($0, at: 1_500_000) }
        try file.takeWritten(1_500_000)
        #expect(file.byteCount == Int64(content.count))
        let (digest, size) = try file.finish()
        #expect(size == Int64(content.count))
        #expect(digest == SHA256Digest(SHA256.hash(data: content)))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.join("file"))) == Data(content))
    }

    @Test func nothingElseIsAdopted() throws {
        let dir = try TemporaryDirectory("adopt")
        let out = dir.join("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let other = Source.url("https://cdn.example/other.tgz")
        _ = try Self.deadArea(in: out, [
            // Larger than the version it claims to be.
            "source-0": [UInt8](repeating: 1, count: 2000), "source-0.resume": Self.record(size: 1000).encoded,
            // Another source.
            "source-1": [1, 2], "source-1.resume": Self.record(size: 10, source: other).encoded,
            // A damaged record.
            "source-2": [1, 2], "source-2.resume": Array(Self.record(size: 10).encoded.dropLast(3)),
        ])
        let staging = try StagingArea(for: .file(path: out + "/pkg.tgz"), role: .installed, resuming: [Self.source])
        #expect(Files.stagingDirectories(in: out) == [(staging.path as NSString).lastPathComponent])
        let (file, version) = try staging.file(named: "source-0", for: Self.source)
        #expect(version == nil)
        #expect(file.byteCount == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: staging.path).sorted() == ["owner", "source-0"])
        try staging.remove()
    }

    @Test func aRecordIsParsedDefensivelyAndHoldsNoSecret() throws {
        let record = Self.record(size: 42)
        #expect(ResumeRecord(parsing: record.encoded) == record)
        var placed = record
        placed.staged = 12345
        #expect(ResumeRecord(parsing: placed.encoded) == placed)
        for cut in 0..<placed.encoded.count { #expect(ResumeRecord(parsing: Array(placed.encoded.prefix(cut))) == nil) }
        #expect(!String(decoding: record.encoded, as: UTF8.self).contains("secret"))
        for cut in 0..<record.encoded.count { #expect(ResumeRecord(parsing: Array(record.encoded.prefix(cut))) == nil) }
        #expect(ResumeRecord(parsing: [UInt8](repeating: 0x0A, count: 100_000)) == nil)
        #expect(ResumeRecord(source: Self.source, validator: .entityTag("\"a\nb\""), totalSize: 1) == nil)
        #expect(ResumeRecord(source: Self.source, validator: .token("inode-1"), totalSize: 1) == nil)
        let weak = Array(String(decoding: record.encoded, as: UTF8.self).replacingOccurrences(of: "etag \"v1\"", with: "etag W/\"v1\"").utf8)
        #expect(ResumeRecord(parsing: weak) == nil)
    }
}
