import Foundation
import Pipeline
import Testing
import TestSupport
import Unpackers

@Suite("What is not an archive, or is a damaged one, fails with unpack-failed (60)", .offPool)
struct BadArchiveTests {
    private func expectUnpackFailed(_ sandbox: Sandbox, _ format: ArchiveFormat, saying words: [String],
                                    sourceLocation: SourceLocation = #_sourceLocation) async {
        let error = await #expect(throws: PkgfetchError.self, sourceLocation: sourceLocation) { try await sandbox.unpack(format) }
        #expect(error?.kind == .unpackFailed, "\(error?.description ?? "")", sourceLocation: sourceLocation)
        #expect(error?.kind.exitCode == 60, sourceLocation: sourceLocation)
        for word in words {
            #expect(error?.message.contains(word) == true, "\(error?.message ?? "") should say \(word)", sourceLocation: sourceLocation)
        }
    }

    @Test func htmlErrorPage() async throws {
        let sandbox = try Sandbox()
        try "<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n".write(toFile: sandbox.archive, atomically: false, encoding: .utf8)
        await expectUnpackFailed(sandbox, .tarGzip, saying: ["not an archive", "expected tar.gz", "HTML", "<!DOCTYPE html>"])
    }

    @Test func emptyFile() async throws {
        let sandbox = try Sandbox()
        _ = FileManager.default.createFile(atPath: sandbox.archive, contents: Data())
        await expectUnpackFailed(sandbox, .zip, saying: ["not an archive", "empty"])
    }

    @Test func randomBytes() async throws {
        let sandbox = try Sandbox()
        let bytes = (0..<4096).map { _ in UInt8.random(in: 0...255) }
        _ = FileManager.default.createFile(atPath: sandbox.archive, contents: Data([0x00, 0x01, 0xFE] + bytes))
        await expectUnpackFailed(sandbox, .zip, saying: ["not an archive", "binary data", "00 01 fe"])
    }

    @Test func bareExecutable() async throws {
        let sandbox = try Sandbox()
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: sandbox.archive)
        await expectUnpackFailed(sandbox, .tarGzip, saying: ["not an archive", "ELF executable"])
    }

    @Test func gzipOfSomethingElse() async throws {
        let sandbox = try Sandbox()
        try Tool.run(try Tool.python3(), ["-c", "import gzip, os, sys; open(sys.argv[1], 'wb').write(gzip.compress(os.urandom(5000)))", sandbox.archive])
        await expectUnpackFailed(sandbox, .tarGzip, saying: ["not an archive", "gzip data that holds no tar or zip archive"])
    }

    @Test func missingFile() async throws {
        let sandbox = try Sandbox()
        await expectUnpackFailed(sandbox, .zip, saying: ["cannot read the archive", "No such file"])
    }

    @Test(arguments: [ArchiveBuilder.Format.tarGzip, .tarXz, .zip, .tar])
    func truncatedArchive(_ format: ArchiveBuilder.Format) async throws {
        let sandbox = try Sandbox()
        let whole = sandbox.archive + ".whole"
        let noise = (0..<300_000).map { _ in UInt8.random(in: 0...255) }
        let entries: [TestEntry] = [.file("a.txt", "a"), TestEntry(name: "big.bin", data: String(decoding: noise.map { $0 & 0x7F }, as: UTF8.self)), .file("z.txt", "z")]
        try ArchiveBuilder.build(format, entries, at: whole)
        let data = try Data(contentsOf: URL(fileURLWithPath: whole))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: sandbox.archive))
        await expectUnpackFailed(sandbox, ArchiveFormat(format.rawValue), saying: ["corrupt archive"])
    }

    @Test func encryptedZip() async throws {
        let zip = try Tool.find("zip", install: "apt-get install zip")
        let sandbox = try Sandbox(archiveName: "package.zip")
        let source = try sandbox.temporary.path("source", create: true)
        try "secret".write(toFile: "\(source)/locked.txt", atomically: false, encoding: .utf8)
        try Tool.run(zip, ["-q", "-P", "password", sandbox.archive, "locked.txt"], in: source)
        await expectUnpackFailed(sandbox, .zip, saying: ["entry \"locked.txt\"", "encrypted"])
    }

    /// A flipped byte inside a zip entry's stored data: only the CRC check can notice.
    @Test func zipWithDamagedData() async throws {
        let sandbox = try Sandbox()
        let content = String(repeating: "pkgfetch ", count: 2000)
        try ArchiveBuilder.build(.zip, [TestEntry(name: "data.txt", data: content, mode: 0o644)], at: sandbox.archive)
        var data = try Data(contentsOf: URL(fileURLWithPath: sandbox.archive))
        // Local header (30 bytes) + name (8 bytes) + some way into the deflate stream.
        data[30 + 8 + 20] ^= 0x55
        try data.write(to: URL(fileURLWithPath: sandbox.archive))
        await expectUnpackFailed(sandbox, .zip, saying: ["corrupt archive", "data.txt"])
    }
}
