import AKS
import Foundation
import Pipeline
import Testing

/// A message is one line that reads as what it is, whatever the input it quotes (found by fuzzing the
/// URL resolver: a URL with `\r` and NULs came back inside its error message as they were).
@Suite struct PrintableLineTests {
    @Test func aURLWithControlCharactersIsQuotedEscaped() throws {
        let resolver = try CDNURLResolver()
        let failure = error {
            try resolver.resolve(PackageRequest(url: "ht\u{1}\0\r//x\u{1B}[2J\u{202E}piz.exe", target: .file(path: "/tmp/x")))
        }
        #expect(failure?.kind == .resolveFailed)
        #expect(failure?.message == #"'ht\u{1}\u{0}\u{D}//x\u{1B}[2J\u{202E}piz.exe' is not an http(s) URL"#)
    }

    @Test func everyWayOfSettingAMessageEscapes() {
        var failure = PkgfetchError(.usage, "a\nb")
        #expect(failure.message == #"a\u{A}b"#)
        failure.message = "c\u{2028}d\u{85}e\tf"
        #expect(failure.message == #"c\u{2028}d\u{85}e\u{9}f"#)
        #expect(PkgfetchError(.usage, "plain text, ünïcödé and emoji 👍 stay").message == "plain text, ünïcödé and emoji 👍 stay")
    }
}
