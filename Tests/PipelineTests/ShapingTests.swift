@testable import Pipeline
import Foundation
import PipelineTesting
import TestSupport
import Testing

/// `Shaping` and `ShapingPass`: which members a glob keeps, where stripping and renaming put them,
/// and what is refused before anything is read.
struct ShapingPassTests {
    func path(_ text: String) -> [[UInt8]] { text.split(separator: "/").map { Array($0.utf8) } }
    func text(_ components: [[UInt8]]?) -> String? { components.map { String(decoding: Array($0.joined(separator: [UInt8(ascii: "/")])), as: UTF8.self) } }

    @Test(arguments: [
        ("kubernetes/node/bin/kubelet", "kubernetes/node/bin/kubelet", true),
        ("kubernetes/*/bin/kubelet", "kubernetes/node/bin/kubelet", true),
        ("*/kubelet", "kubernetes/node/bin/kubelet", false),          // `*` stops at '/'
        ("kubernetes/node", "kubernetes/node/bin/kubelet", true),      // a directory takes what is under it
        ("kubernetes/no", "kubernetes/node/bin/kubelet", false),       // a prefix of a name is not a directory
        ("kube?netes/node/bin/kube[!a]*", "kubernetes/node/bin/kubelet", true),
        ("kube?netes/node/bin/kube[!l]*", "kubernetes/node/bin/kubelet", false),
        ("bin/[a-c]*", "bin/bridge", true),
        ("bin/[^a-c]*", "bin/bridge", false),
        ("bin/\\*", "bin/*", true),
        ("bin/\\*", "bin/x", false),
        ("./bin/", "bin/x", true),                                     // written as tar prints it
        ("bin?x", "bin/x", false),                                     // `?` does not match '/'
        ("a*b*c", "axxbyyc", true),
        ("a*b*c", "axxbyyd", false),
    ])
    func globs(glob: String, member: String, matches: Bool) throws {
        var pass = ShapingPass(try Shaping(include: [glob]))
        #expect((try pass.place(path(member), isDirectory: false) != nil) == matches)
    }

    @Test func stripAndSuffixApplyToFilesAndLinkTargetsNotDirectories() throws {
        var pass = ShapingPass(try Shaping(stripComponents: 3, renameSuffix: "-1.34.1"))
        #expect(text(try pass.place(path("kubernetes/node/bin"), isDirectory: true)) == nil)
        #expect(text(try pass.place(path("kubernetes/node/bin/kubelet"), isDirectory: false)) == "kubelet-1.34.1")
        #expect(text(try pass.place(path("kubernetes/node/bin/sub/x"), isDirectory: false)) == "sub/x-1.34.1")
        #expect(text(try pass.place(path("kubernetes/node/bin/sub"), isDirectory: true)) == "sub")
        #expect(text(pass.placeLinkTarget(path("kubernetes/node/bin/kubelet"))) == "kubelet-1.34.1")
        #expect(text(pass.placeLinkTarget(path("kubernetes/node"))) == nil)
        try pass.finish()
    }

    @Test func renameTakesOneFileAndRefusesASecond() throws {
        var pass = ShapingPass(try Shaping(rename: "acr-credential-provider"))
        #expect(text(try pass.place(path("bin/azure-acr-credential-provider"), isDirectory: false)) == "bin/acr-credential-provider")
        // The same member again (tar's "a later copy replaces") is still one file.
        #expect(text(try pass.place(path("bin/azure-acr-credential-provider"), isDirectory: false)) == "bin/acr-credential-provider")
        #expect(throws: PkgfetchError.self) { try pass.place(path("bin/other"), isDirectory: false) }
    }

    @Test func finishRefusesAnUnmatchedGlobAndNothingLeft() throws {
        var unmatched = ShapingPass(try Shaping(include: ["a/*", "b"]))
        _ = try unmatched.place(path("a/x"), isDirectory: false)
        let error = try #require(throws: PkgfetchError.self) { try unmatched.finish() }
        #expect(error.kind == .noMatchingContent)
        #expect(error.message.contains("\"b\""))
        var empty = ShapingPass(try Shaping(stripComponents: 2))
        #expect(try empty.place(path("a/x"), isDirectory: false) == nil)
        #expect(throws: PkgfetchError.self) { try empty.finish() }
        // No shaping asks for nothing: an empty archive stays allowed.
        try ShapingPass(.none).finish()
        #expect(try ShapingPass.name(ofFile: "crictl", shapedBy: try Shaping(renameSuffix: "-v1")) == "crictl-v1")
        #expect(throws: PkgfetchError.self) { try ShapingPass.name(ofFile: "crictl", shapedBy: try Shaping(stripComponents: 1)) }
    }

    @Test(arguments: ["a/b", "..", "../x", "x..", "..\u{301}", "a\\b", "", ".", "a\u{0}b", String(repeating: "x", count: 256)])
    func namesThatCannotBeOneComponentAreUsageErrors(name: String) {
        let error = #expect(throws: PkgfetchError.self) { try Shaping(rename: name) }
        #expect(error?.kind == .usage)
    }

    @Test func fieldsThatCannotGoTogetherAreUsageErrors() {
        #expect(throws: PkgfetchError.self) { try Shaping(stripComponents: -1) }
        #expect(throws: PkgfetchError.self) { try Shaping(include: [""]) }
        #expect(throws: PkgfetchError.self) { try Shaping(renameSuffix: "-1", rename: "x") }
        #expect(throws: PkgfetchError.self) { try Shaping(renameSuffix: "/x") }
    }
}

/// The runner with shaping: an unpacker that does not shape refuses rather than install everything,
/// and the destination is left as it was.
@Suite(.offPool) struct ShapingRunnerTests {
    @Test func anUnpackerThatCannotShapeRefusesAndInstallsNothing() async throws {
        let dir = try TemporaryDirectory()
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()],
                                unpacker: FakeUnpacker(files: ["kubelet": "new", "kubeadm": "new"]))
        var request = PackageRequest(url: "x", target: .directory(path: dir.join("bin"), mode: .merge, unpack: true))
        request.shaping = try Shaping(include: ["kubelet"])
        let error = await #expect(throws: PkgfetchError.self) { try await runner.run(request) }
        #expect(error?.kind == .usage)
        #expect(error?.message.contains("cannot choose, strip or rename") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.join("bin")))
    }

    @Test func aFileThatIsNoArchiveIsRenamedAsItIsPlaced() async throws {
        let dir = try TemporaryDirectory()
        let runner = makeRunner(sources: [.url("https://cdn/crictl")], fetchers: ["https": ScriptedFetcher()], fileName: "crictl")
        var request = PackageRequest(url: "x", target: .directory(path: dir.join("bin"), mode: .merge, unpack: false))
        request.shaping = try Shaping(rename: "crictl-1.31")
        _ = try await runner.run(request)
        #expect(dir.listing() == ["bin", "bin/crictl-1.31"])
    }
}
