import Pipeline
import Testing

/// Paths by their text and bytes: what the install and the batch checks compare.
@Suite struct LexicalPathTests {
    @Test func dotsAndSlashesAreTakenLexically() {
        #expect(LexicalPath("/a/./b//c/../d/").string == "/a/b/d")
        #expect(LexicalPath("/../../x").string == "/x")
        #expect(LexicalPath("/").isRoot && LexicalPath("/").name == nil)
        #expect(LexicalPath("/a/b").parent == LexicalPath("/a"))
    }

    @Test func componentsAreBytesSoCanonicallyEquivalentNamesDiffer() {
        let composed = LexicalPath("/srv/caf\u{E9}"), decomposed = LexicalPath("/srv/cafe\u{301}")
        #expect(composed != decomposed)
        #expect("/srv/caf\u{E9}" == "/srv/cafe\u{301}", "Swift's String equality would call them one path")
        // A combining mark after "/" does not hide the component boundary.
        #expect(LexicalPath("/a/..\u{301}/b").components.count == 3)
        #expect(LexicalPath("/a/b/../\u{301}x").string == "/a/\u{301}x")
    }

    @Test func messagesShowControlCharactersEscaped() {
        #expect(LexicalPath("/tmp/a\nb\u{1B}[2J").description == "/tmp/a\\x0Ab\\x1B[2J")
    }
}
