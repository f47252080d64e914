import Foundation
import Pipeline
import Testing
import TestSupport
import Unpackers

/// Names are bytes to the kernel: `/` (0x2F) separates components whatever follows it, and two
/// spellings of one text (NFC `é`, NFD `e` + U+0301) are two names. A combining mark after `/` makes
/// `"/\u{301}"` one Swift `Character`, which hides a `..` from any check that splits on `Character`s.
@Suite("Names are split and compared as bytes, not as Swift characters", .offPool)
struct ByteNameTests {
    /// The raw names in a directory, as bytes (a `String`-keyed listing would merge NFC and NFD).
    private func rawNames(in directory: String) throws -> [[UInt8]] {
        guard let stream = opendir(directory) else { throw TestSetupError(description: "cannot list \(directory)") }
        defer { closedir(stream) }
        var names: [[UInt8]] = []
        while let item = readdir(stream) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    private func expectRefused(_ entries: [TestEntry], _ format: ArchiveBuilder.Format = .tar, naming entry: String,
                               because reason: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(format, entries, at: sandbox.archive)
        let error = await #expect(throws: PkgfetchError.self, sourceLocation: sourceLocation) {
            try await sandbox.unpack(format == .zip ? .zip : .tar)
        }
        #expect(error?.kind == .unsafeArchive, "\(error?.description ?? "no error")", sourceLocation: sourceLocation)
        #expect(error?.kind.exitCode == 61, sourceLocation: sourceLocation)
        #expect(error?.message.contains("entry \(entry) refused") == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
        #expect(try sandbox.strays() == [], sourceLocation: sourceLocation)
        #expect(try rawNames(in: sandbox.target) == [], "nothing is left of a refused archive", sourceLocation: sourceLocation)
    }

    /// `../\u{301}x`: to the kernel, `..` then `\u{301}x`, one level above the directory.
    @Test(arguments: [ArchiveBuilder.Format.tar, .zip])
    func dotDotBeforeACombiningMarkIsRefused(_ format: ArchiveBuilder.Format) async throws {
        try await expectRefused([.file("../\u{301}x", "escaped")], format,
                                naming: #""../\u{301}x""#, because: #"has a ".." component"#)
    }

    @Test func symlinkClimbingOutThroughACombiningMarkIsRefused() async throws {
        try await expectRefused([.symlink("up", to: "../\u{301}")], naming: #""up""#, because: "leads outside")
    }

    @Test func nestedSymlinkClimbingOutThroughCombiningMarksIsRefused() async throws {
        try await expectRefused([.dir("sub/"), .symlink("sub/up", to: "../\u{301}/../..\u{301}/../../\u{301}x")],
                                naming: #""sub/up""#, because: "leads outside")
    }

    /// The same escape once a later entry makes the middle component a symlink to `.`: the final check
    /// follows links component by component, on bytes too.
    @Test func symlinkThatEscapesOnlyThroughALaterLinkIsRefused() async throws {
        try await expectRefused([.symlink("a", to: "l\u{301}/.."), .symlink("l\u{301}", to: ".")],
                                naming: #""a""#, because: "leads outside")
    }

    /// GNU tar names and unflagged zip names reach pkgfetch as the bytes stored, and stay two names.
    /// (libarchive itself turns pax and UTF-8-flagged zip names into NFC before anyone sees them, so
    /// there the two spellings arrive as one name: see `paxNamesArriveComposed`.)
    @Test(arguments: [ArchiveBuilder.Format.tarGnu, .zip])
    func nfcAndNfdSpellingsAreTwoFiles(_ format: ArchiveBuilder.Format) async throws {
        let sandbox = try Sandbox()
        let spelled = { (text: String, data: String) in TestEntry.rawName(Array(text.utf8), shownAs: text, data) }
        try ArchiveBuilder.build(format, [
            spelled("\u{E9}.txt", "composed"),
            spelled("e\u{301}.txt", "decomposed"),
            spelled("\u{C5}/keep", "under the composed directory"),
            spelled("A\u{30A}/inside", "under the decomposed directory"),
        ], at: sandbox.archive)
        let report = try await sandbox.unpack(format == .zip ? .zip : .tar)
        #expect(report.entries == 4)
        #expect(try rawNames(in: sandbox.target) == [
            Array("A\u{30A}".utf8), Array("e\u{301}.txt".utf8), Array("\u{C5}".utf8), Array("\u{E9}.txt".utf8),
        ].sorted { $0.lexicographicallyPrecedes($1) })
        #expect(try String(contentsOfFile: sandbox.target + "/\u{E9}.txt", encoding: .utf8) == "composed")
        #expect(try String(contentsOfFile: sandbox.target + "/e\u{301}.txt", encoding: .utf8) == "decomposed")
        #expect(try rawNames(in: sandbox.target + "/A\u{30A}") == [Array("inside".utf8)])
        #expect(try rawNames(in: sandbox.target + "/\u{C5}") == [Array("keep".utf8)])
    }

    /// What libarchive 3.6 does with pax names (it normalises UTF-8 it converts to NFC): both spellings
    /// come out as the composed name, the later entry wins as with any repeated name, and nothing
    /// disagrees with the disk.
    @Test func paxNamesArriveComposed() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tar, [.file("\u{E9}.txt", "composed"), .file("e\u{301}.txt", "decomposed")], at: sandbox.archive)
        _ = try await sandbox.unpack(.tar)
        #expect(try rawNames(in: sandbox.target) == [Array("\u{E9}.txt".utf8)])
        #expect(try String(contentsOfFile: sandbox.target + "/\u{E9}.txt", encoding: .utf8) == "decomposed")
    }

    /// A symlink under one spelling does not make the other spelling a symlink, nor the reverse.
    @Test func aSymlinkIsNotFollowedUnderAnotherSpelling() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tarGnu, [
            .dir("real/"),
            .symlink("\u{E9}", to: "real"),
            .rawName(Array("e\u{301}/f".utf8), shownAs: "e\u{301}/f", "a real directory of its own"),
        ], at: sandbox.archive)
        _ = try await sandbox.unpack(.tar)
        var info = stat()
        #expect(lstat(sandbox.target + "/e\u{301}", &info) == 0 && info.st_mode & S_IFMT == S_IFDIR)
        #expect(try rawNames(in: sandbox.target + "/real") == [])
    }
}
