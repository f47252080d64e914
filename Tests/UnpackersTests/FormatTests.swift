import Foundation
import Pipeline
import Testing
import TestSupport
import Unpackers

/// A small package tree written with Foundation and packed by `bsdtar` in each format.
enum SamplePackage {
    static let modified: time_t = 1_600_000_000

    static func write(at root: String) throws {
        let files: [(String, String, mode_t)] = [
            ("bin/tool.sh", "#!/bin/sh\necho tool-ran \"$@\"\n", 0o755),
            ("etc/config.json", "{\"cni\": true}\n", 0o644),
            ("etc/secret", "s3cret\n", 0o600),
            ("share/readonly.txt", "read only\n", 0o444),
            ("private/data.bin", noise(count: 320_000), 0o640),
            ("héllo wörld/naïve.txt", "unicode names\n", 0o644),
        ]
        let directories: [(String, mode_t)] = [("bin", 0o755), ("etc", 0o755), ("share", 0o755), ("private", 0o750),
                                                ("empty", 0o700), ("héllo wörld", 0o755)]
        for (path, mode) in directories {
            try FileManager.default.createDirectory(atPath: "\(root)/\(path)", withIntermediateDirectories: true)
            chmod("\(root)/\(path)", mode)
        }
        for (path, content, mode) in files {
            try content.write(toFile: "\(root)/\(path)", atomically: false, encoding: .utf8)
            chmod("\(root)/\(path)", mode)
        }
        try FileManager.default.createSymbolicLink(atPath: "\(root)/bin/current", withDestinationPath: "tool.sh")
        try FileManager.default.createSymbolicLink(atPath: "\(root)/docs", withDestinationPath: "share")
        try FileManager.default.createSymbolicLink(atPath: "\(root)/private/up", withDestinationPath: "../etc/config.json")
        // Times last, deepest first, so that creating entries does not move a directory's time again.
        let everything = try TreeSnapshot(root).nodes.keys.sorted { $0.count(where: { $0 == "/" }) > $1.count(where: { $0 == "/" }) }
        for path in everything {
            let times = [timespec(tv_sec: modified, tv_nsec: 0), timespec(tv_sec: modified, tv_nsec: 0)]
            utimensat(AT_FDCWD, "\(root)/\(path)", times, AT_SYMLINK_NOFOLLOW)
        }
    }

    /// Text that compresses about as badly as a binary does (a compression ratio like a real package's),
    /// the same on every run.
    static func noise(count: Int) -> String {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/".utf8)
        return String(decoding: (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return alphabet[Int(state >> 58)]
        }, as: UTF8.self)
    }

    /// bsdtar's flags to create each format.
    static func createFlags(_ format: ArchiveFormat) -> [String] {
        switch format {
        case .zip: ["--format", "zip", "-cf"]
        case .tarGzip: ["-czf"]
        case .tarXz: ["-cJf"]
        case .tarZstd: ["--zstd", "-cf"]
        default: ["-cf"]
        }
    }
}

@Suite("Each format unpacks as bsdtar -xf unpacks it", .offPool)
struct FormatTests {
    static let formats: [ArchiveFormat] = [.zip, .tarGzip, .tarXz, .tarZstd, .tar]

    @Test(arguments: formats)
    func matchesBsdtar(_ format: ArchiveFormat) async throws {
        let bsdtar = try Tool.bsdtar()
        let sandbox = try Sandbox(archiveName: "package.\(format.name)")
        let source = try sandbox.temporary.path("source", create: true)
        try SamplePackage.write(at: source)
        try Tool.run(bsdtar, SamplePackage.createFlags(format) + [sandbox.archive, "-C", source, "."])
        let oracle = try sandbox.temporary.path("bsdtar", create: true)
        try Tool.run(bsdtar, ["-xf", sandbox.archive, "-C", oracle])

        let report = try await sandbox.unpack(format)

        let ours = try TreeSnapshot(sandbox.target)
        #expect(try ours.differences(from: TreeSnapshot(oracle)) == [])
        #expect(ours["bin/tool.sh"]?.permissions == 0o755)
        #expect(ours["share/readonly.txt"]?.permissions == 0o444)
        #expect(ours["private"]?.permissions == 0o750)
        #expect(ours["bin/current"]?.linkTarget == "tool.sh")
        #expect(ours["héllo wörld/naïve.txt"]?.type == "file")
        #expect(ours["etc/config.json"]?.modified == Int(SamplePackage.modified))
        #expect(try Tool.run(sandbox.target + "/bin/current", ["x"]) == "tool-ran x\n")
        #expect(report.entries == 16, "the tree's 15 entries and ./")
        #expect(report.bytes == 320_000 + 29 + 14 + 7 + 10 + 14)
        let expectedName = [ArchiveFormat.zip: "ZIP", .tarGzip: "gzip", .tarXz: "xz", .tarZstd: "zstd", .tar: "POSIX"][format]!
        #expect(report.detectedFormat.contains(expectedName), "\(report.detectedFormat)")
    }

    @Test func formatIsFoundByContentNotByName() async throws {
        let sandbox = try Sandbox(archiveName: "really-a-tar-gz.zip")
        let source = try sandbox.temporary.path("source", create: true)
        try SamplePackage.write(at: source)
        try Tool.run(try Tool.bsdtar(), ["-czf", sandbox.archive, "-C", source, "."])
        let report = try await sandbox.unpack(.zip)
        #expect(report.detectedFormat.contains("gzip"))
        #expect(try TreeSnapshot(sandbox.target)["bin/tool.sh"]?.permissions == 0o755)
    }

    @Test func executableScriptRunsAfterUnpacking() async throws {
        for format in [ArchiveBuilder.Format.zip, .tarGzip] {
            let sandbox = try Sandbox()
            try ArchiveBuilder.build(format, [
                .dir("bin/"),
                .file("bin/kubelet-check.sh", "#!/bin/sh\necho \"hello from the package: $1\"\n", mode: 0o755),
            ], at: sandbox.archive)
            _ = try await sandbox.unpack(ArchiveFormat(format.rawValue))
            let output = try Tool.run("\(sandbox.target)/bin/kubelet-check.sh", ["ok"])
            #expect(output == "hello from the package: ok\n", "\(format)")
        }
    }

    /// Zip names flagged UTF-8, unflagged UTF-8 (macOS and Linux tools), legacy CP437 (Windows tools),
    /// and `\` separators; a GNU tar name in Latin-1.
    @Test func legacyAndUnicodeNamesComeOutReadable() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.zip, [
            .file("héllo-flagged.txt", "1"),
            .rawName(Array("naïve-unflagged.txt".utf8), shownAs: "naïve-unflagged.txt"),
            .rawName([0x63, 0x61, 0x66, 0x82, 0x2D, 0x63, 0x70, 0x34, 0x33, 0x37, 0x2E, 0x74, 0x78, 0x74], shownAs: "café-cp437.txt"),
            .rawName(Array(#"dir\sub\x.txt"#.utf8), shownAs: #"dir\sub\x.txt"#),
        ], at: sandbox.archive)
        _ = try await sandbox.unpack()
        #expect(try TreeSnapshot(sandbox.target).nodes.keys.sorted()
            == ["café-cp437.txt", "dir", "dir/sub", "dir/sub/x.txt", "héllo-flagged.txt", "naïve-unflagged.txt"])

        let tar = try Sandbox()
        try ArchiveBuilder.build(.tarGnu, [.rawName([0x72, 0xE9, 0x73, 0x75, 0x6D, 0xE9], shownAs: "résumé")], at: tar.archive)
        _ = try await tar.unpack(.tar)
        #expect(try TreeSnapshot(tar.target).nodes.keys.sorted() == ["résumé"])
    }
}
