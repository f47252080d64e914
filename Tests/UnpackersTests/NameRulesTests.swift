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
        #expect(try EntryPathPolicy.components(ofEntry: name) == components)
    }

    @Test(arguments: ["/etc/passwd", #"\x"#, #"\\server\share"#, #"C:\x"#, "c:x", "Z:/x", "..", "a/../../b", #"a\..\b"#, "../"])
    func refusedPaths(_ name: String) {
        #expect(throws: PkgfetchError.self) { try EntryPathPolicy.components(ofEntry: name) }
    }

    @Test func cp437MatchesPython() throws {
        let expected = try Tool.run(try Tool.python3(), ["-c", "import sys; sys.stdout.buffer.write(bytes(range(128, 256)).decode('cp437').encode('utf-8'))"])
        #expect(EntryNameDecoding.decode(Array(128...255), legacy: .cp437) == expected)
    }

    @Test func validUTF8IsKeptAndLatin1IsDecoded() {
        #expect(EntryNameDecoding.decode(Array("naïve".utf8), legacy: .cp437) == "naïve")
        #expect(EntryNameDecoding.decode([0x72, 0xE9, 0x73], legacy: .latin1) == "rés")
    }

    @Test func messagesQuoteControlCharacters() {
        #expect(UnpackFailure.quoted("a\nb\"c\\d") == #""a\u{a}b\"c\d""#)
    }
}
