import Foundation
import Pipeline
import Testing
import TestSupport
@testable import Unpackers

@Suite("Entry names: the path rules and the legacy code pages", .offPool)
struct NameRulesTests {
    @Test(arguments: [
        ("a/b/c", ["a", "b", "c"]), ("./a//./b/", ["a", "b"]), (#"a\b"#, ["a", "b"]), ("./", []), ("...", ["..."]),
        ("a..b/..c", ["a..b", "..c"]), ("ab:c", ["ab:c"]),
    ])
    func acceptedPaths(_ name: String, _ components: [String]) throws {
        #expect(try EntryPathPolicy.components(ofEntry: Array(name.utf8)) == components.map { Array($0.utf8) })
    }

    @Test(arguments: ["/etc/passwd", #"\x"#, #"\\server\share"#, #"C:\x"#, "c:x", "Z:/x", "..", "a/../../b", #"a\..\b"#, "../"])
    func refusedPaths(_ name: String) {
        #expect(throws: PkgfetchError.self) { try EntryPathPolicy.components(ofEntry: Array(name.utf8)) }
    }

    @Test func cp437MatchesPython() throws {
        let expected = try Tool.run(try Tool.python3(), ["-c", "import sys; sys.stdout.buffer.write(bytes(range(128, 256)).decode('cp437').encode('utf-8'))"])
        #expect(EntryNameDecoding.decode(Array(128...255), legacy: .cp437) == Array(expected.utf8))
    }

    @Test func validUTF8IsKeptAndLatin1IsDecoded() {
        #expect(EntryNameDecoding.decode(Array("naïve".utf8), legacy: .cp437) == Array("naïve".utf8))
        #expect(EntryNameDecoding.decode([0x72, 0xE9, 0x73], legacy: .latin1) == Array("rés".utf8))
        #expect(EntryNameDecoding.decode(Array("e\u{301}".utf8), legacy: .latin1) == [0x65, 0xCC, 0x81], "never normalised")
    }

    @Test func messagesQuoteControlCharacters() {
        #expect(UnpackFailure.quoted("a\nb\"c\\d") == #""a\u{a}b\"c\d""#)
    }

    /// What would hide or disguise bytes is escaped: a combining mark drawn onto `/` or `.`, a bidi
    /// override, a zero-width space, a byte that is not UTF-8. Marks on letters stay readable.
    @Test func messagesShowEveryByte() {
        #expect(UnpackFailure.quoted("../\u{301}x") == #""../\u{301}x""#)
        #expect(UnpackFailure.quoted("\u{301}") == #""\u{301}""#)
        #expect(UnpackFailure.quoted("e\u{301}t\u{E9}") == "\"e\u{301}t\u{E9}\"")
        #expect(UnpackFailure.quoted("a\u{202E}txt.exe") == #""a\u{202e}txt.exe""#)
        #expect(UnpackFailure.quoted("a\u{200B}b") == #""a\u{200b}b""#)
        #expect(UnpackFailure.quoted([0x61, 0xFF, 0x62]) == #""a\x{ff}b""#)
    }

    @Test func libarchiveMessagesStayOneLine() {
        #expect(UnpackFailure.printable("Pathname \"x\ny\" too long") == #"Pathname \"x\u{a}y\" too long"#)
    }

    @Test func longNamesAreCutInTheMiddle() {
        let name = Array(repeating: "a/", count: 10_000).joined() + "x"
        let shown = UnpackFailure.quoted(name)
        #expect(shown.count < 200)
        #expect(shown.hasPrefix("\"a/a/a/"))
        #expect(shown.hasSuffix("a/a/x\""))
        #expect(shown.contains("…[20001 bytes]…"))
    }

    /// Lengths are checked on the bytes before anything else: PATH_MAX, NAME_MAX and the depth limit.
    @Test func sizeLimits() throws {
        let longest = Array(repeating: String(repeating: "a", count: 255), count: 16).joined(separator: "/")
        #expect(longest.utf8.count == 4095)
        #expect(try EntryPathPolicy.components(ofEntry: Array(longest.utf8)).count == 16)
        let deepest = Array(repeating: "a", count: 1024).joined(separator: "/")
        #expect(try EntryPathPolicy.components(ofEntry: Array(deepest.utf8)).count == 1024)

        for (name, reason) in [(longest + "b", "4096 bytes long, more than 4095 (PATH_MAX)"),
                               (deepest + "/a", "1025 components, more than 1024 (depth limit)"),
                               (String(repeating: "b", count: 256), "a component of 256 bytes, more than 255 (NAME_MAX)")] {
            let error = #expect(throws: PkgfetchError.self) { try EntryPathPolicy.components(ofEntry: Array(name.utf8)) }
            #expect(error?.kind == .unsafeArchive)
            #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
            #expect(error?.message.count ?? .max < 300, "one short line")
        }
    }

    /// A separator byte separates whatever follows it; a Swift `Character` split would not see these.
    @Test(arguments: ["../\u{301}x", "a/../\u{301}/../../x", "..\\\u{301}x"])
    func dotDotBeforeACombiningMarkIsRefused(_ name: String) {
        let error = #expect(throws: PkgfetchError.self) { try EntryPathPolicy.components(ofEntry: Array(name.utf8)) }
        #expect(error?.message.contains(#"has a ".." component"#) == true, "\(error?.message ?? "")")
    }
}
