import Foundation
import Pipeline
import Testing
import TestSupport
import Unpackers

/// A zip is unpacked by its local headers while it arrives, then held against its central directory
/// (`ZipDirectoryCheck`): archives made by `zip` and `bsdtar` install what bsdtar makes of the file
/// (modes from the directory included), and archives whose local headers and directory disagree are
/// refused (61) with the destination untouched.
@Suite(.offPool) struct StreamedZipTests {
    typealias Scene = StreamedUnpackTests.Scene

    static func zipTool() throws -> String { try Tool.find("zip", install: "apt-get install zip") }

    /// A `pkg/` tree of 20 files of 100 000 random hex digits, an executable and a read-only file,
    /// zipped by `command` run in its parent (`$ZIP` is the zip tool, the archive goes to `out.zip`).
    static func zipped(_ scratch: TestSupport.TemporaryDirectory, _ command: String) throws -> (path: String, bytes: Data) {
        let source = scratch.join("source-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(atPath: source + "/pkg/bin", withIntermediateDirectories: true)
        for index in 0..<20 {
            try Data(StreamedUnpackTests.randomHex(100_000).utf8)
                .write(to: URL(fileURLWithPath: source + "/pkg/part-\(String(format: "%02d", index)).txt"))
        }
        try Data("#!/bin/sh\necho run\n".utf8).write(to: URL(fileURLWithPath: source + "/pkg/bin/run"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: source + "/pkg/bin/run")
        try Data("read only".utf8).write(to: URL(fileURLWithPath: source + "/pkg/readonly.txt"))
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: source + "/pkg/readonly.txt")
        let zip = try zipTool()
        _ = try Tool.run("/bin/sh", ["-c", "ZIP=\(zip) BSDTAR=\(try Tool.bsdtar()); \(command)"], in: source)
        let path = source + "/out.zip"
        return (path, try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Runs the scene's runner over `content` (pausing at 60 % when `pausing`), returning its result.
    static func run(_ scene: Scene, _ content: Data, digestOf archive: String,
                    shaping: Shaping = .none, pausing: Bool = false) async throws -> RunResult {
        let fetcher = PausingFetcher { _, _ in .init(content: content, pauseAt: pausing ? content.count * 6 / 10 : nil) }
        var request = scene.request(digest: SHA256Digest(try Files.sha256(archive)))
        request.shaping = shaping
        let run = Task { try await scene.runner(fetcher).run(request) }
        if pausing {
            try await scene.waitForUnpacked("pkg/part-00.txt", size: 100_000)
            #expect(try FileManager.default.contentsOfDirectory(atPath: scene.destination) == ["old"], "nothing installed before the file is verified")
        }
        fetcher.gate.open()
        return try await run.value
    }

    /// `bytes` with the central-directory record of `name` changed by `change` (given the record's
    /// offset in the file), and everything else as it was.
    static func patchingRecord(named name: String, in bytes: Data, _ change: (inout Data, Int) -> Void) -> Data {
        var patched = bytes
        let signature = Data([0x50, 0x4B, 0x01, 0x02])
        var search = patched.startIndex
        while let found = patched.range(of: signature, in: search..<patched.endIndex) {
            let at = found.lowerBound
            let nameLength = Int(patched[at + 28]) | Int(patched[at + 29]) << 8
            if patched[(at + 46)..<(at + 46 + nameLength)] == Data(name.utf8) {
                change(&patched, at)
                return patched
            }
            search = found.upperBound
        }
        Issue.record("no central-directory record for \(name)")
        return patched
    }

    /// Where the end-of-central-directory record of `bytes` starts (no comment: the last 22 bytes).
    static func endRecord(of bytes: Data) -> Int { bytes.endIndex - 22 }

    static func u32(_ bytes: Data, _ at: Int) -> Int {
        Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
    }

    static func setU32(_ bytes: inout Data, _ at: Int, _ value: Int) {
        for index in 0..<4 { bytes[at + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    /// Writes `bytes` as the archive the scene serves, returning its path (for the digest).
    static func write(_ bytes: Data, _ scene: Scene, _ name: String) throws -> String {
        let path = scene.scratch.join(name)
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The run is refused as unsafe (61), saying the central directory and local headers disagree,
    /// and the destination holds what it held.
    static func expectRefused(_ scene: Scene, _ bytes: Data, _ name: String, saying text: String) async throws {
        let archive = try write(bytes, scene, name)
        let error = await #expect(throws: PkgfetchError.self) { try await run(scene, bytes, digestOf: archive) }
        #expect(error?.kind == .unsafeArchive, "\(String(describing: error))")
        #expect(error?.message.contains(text) == true, "\(String(describing: error?.message))")
        #expect(error?.message.contains("\n") == false)
        try scene.expectUntouched()
    }

    @Test func aZipIsUnpackedWhileItArrivesIntoWhatBsdtarMakesOfIt() async throws {
        let scene = try Scene()
        let (archive, content) = try Self.zipped(scene.scratch, "$ZIP -qrX out.zip pkg")
        let result = try await Self.run(scene, content, digestOf: archive, pausing: true)
        #expect(result.unpackedEntries == 24)
        try StreamedUnpackTests.expectSameTree(scene.destination, as: archive, in: scene.scratch)
        let run = try FileManager.default.attributesOfItem(atPath: scene.destination + "/pkg/bin/run")
        #expect((run[.posixPermissions] as? Int) == 0o755, "the mode only the central directory holds")
    }

    @Test func aZipWithDataDescriptorsIsUnpackedWhileItArrives() async throws {
        let scene = try Scene()
        // Written to a pipe, zip cannot seek back: every entry's CRC and sizes follow its data (bit 3).
        let (archive, content) = try Self.zipped(scene.scratch, "$ZIP -qr - pkg | cat > out.zip")
        #expect(content.range(of: Data([0x50, 0x4B, 0x07, 0x08])) != nil, "the entries have data descriptors")
        _ = try await Self.run(scene, content, digestOf: archive, pausing: true)
        try StreamedUnpackTests.expectSameTree(scene.destination, as: archive, in: scene.scratch)
    }

    @Test func aStoredZipWithDataDescriptorsFromBsdtarIsUnpacked() async throws {
        let scene = try Scene()
        let (archive, content) = try Self.zipped(scene.scratch, "$BSDTAR --format zip --options zip:compression=store -cf - pkg | cat > out.zip")
        _ = try await Self.run(scene, content, digestOf: archive)
        try StreamedUnpackTests.expectSameTree(scene.destination, as: archive, in: scene.scratch)
    }

    @Test func aZipWithSymlinksIsUnpackedFromTheVerifiedFile() async throws {
        let scene = try Scene()
        // A symlink is a file with its target as data to a local header: only the directory says more.
        let (archive, content) = try Self.zipped(scene.scratch, "ln -s part-00.txt pkg/latest && $ZIP -qryX out.zip pkg")
        _ = try await Self.run(scene, content, digestOf: archive)
        try StreamedUnpackTests.expectSameTree(scene.destination, as: archive, in: scene.scratch)
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: scene.destination + "/pkg/latest")) == "part-00.txt")
    }

    @Test func aStreamedZipIsShaped() async throws {
        let scene = try Scene()
        let (archive, content) = try Self.zipped(scene.scratch, "$ZIP -qrX out.zip pkg")
        let shaping = try Shaping(include: ["pkg/bin"], stripComponents: 1)
        _ = try await Self.run(scene, content, digestOf: archive, shaping: shaping)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scene.destination) == ["bin"])
        let run = try FileManager.default.attributesOfItem(atPath: scene.destination + "/bin/run")
        #expect((run[.posixPermissions] as? Int) == 0o755)
    }

    @Test func aLocalEntryTheCentralDirectoryHidesIsRefused() async throws {
        let scene = try Scene()
        let (_, good) = try Self.zipped(scene.scratch, "$ZIP -qrX out.zip pkg")
        let (_, other) = try Self.zipped(scene.scratch, "echo evil > pkg/evil.txt && $ZIP -qX out.zip pkg/evil.txt")
        // The other zip's one local entry, put in front of the good zip's central directory.
        let hidden = other.prefix(Self.u32(other, Self.endRecord(of: other) + 16))
        let directoryOffset = Self.u32(good, Self.endRecord(of: good) + 16)
        var crafted = good.prefix(directoryOffset) + hidden + good.suffix(from: directoryOffset)
        Self.setU32(&crafted, Self.endRecord(of: crafted) + 16, directoryOffset + hidden.count)
        try await Self.expectRefused(scene, crafted, "hidden.zip", saying: "its central directory lists 24 entries, its local headers 25")
    }

    @Test func aCentralDirectoryNameOtherThanTheLocalHeadersIsRefused() async throws {
        let scene = try Scene()
        let (_, good) = try Self.zipped(scene.scratch, "$ZIP -qrX out.zip pkg")
        let crafted = Self.patchingRecord(named: "pkg/part-03.txt", in: good) { bytes, at in
            bytes.replaceSubrange((at + 46)..<(at + 46 + 15), with: Data("pkg/part-99.txt".utf8))
        }
        try await Self.expectRefused(scene, crafted, "renamed.zip", saying: "names another entry than the central directory")
    }

    @Test func aCentralDirectorySizeOtherThanTheDataIsRefused() async throws {
        let scene = try Scene()
        // With data descriptors, the local header has no size to compare: the data written is compared.
        let (_, good) = try Self.zipped(scene.scratch, "$ZIP -qr - pkg | cat > out.zip")
        let crafted = Self.patchingRecord(named: "pkg/part-03.txt", in: good) { bytes, at in
            Self.setU32(&bytes, at + 24, 99_999)
        }
        try await Self.expectRefused(scene, crafted, "resized.zip", saying: "its data is 100000 bytes, the central directory says 99999")
    }
}
