import Foundation
import Pipeline
import Testing
import TestSupport
@testable import Unpackers
#if canImport(Glibc)
import Glibc
#endif

/// Each layer of the unpacker's defences on its own. A hostile archive meets several of them (the
/// names, the tree of what was made, the system calls), so removing one leaves the archive refused
/// by the next, with another message: these tests pin what each layer refuses by itself.
@Suite("Each layer of the unpacker refuses on its own: entry names, the tree of what was made, the system calls", .offPool)
struct UnpackLayerTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// The refusal `body` throws; records an issue when it throws nothing or something else.
    static func refusal(_ body: () throws -> Void) -> PkgfetchError? {
        do {
            try body()
        } catch let error as PkgfetchError {
            return error
        } catch {
            Issue.record("not a PkgfetchError: \(error)")
            return nil
        }
        Issue.record("nothing was refused")
        return nil
    }

    @Test(arguments: ["../x", "a/../../x", "a/..", #"a\..\..\x"#, "./../x"])
    func namesWithADotDotComponentAreRefused(_ name: String) {
        let error = Self.refusal { _ = try EntryPathPolicy.components(ofEntry: Self.bytes(name)) }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.message.contains("has a \"..\" component") == true, "\(String(describing: error))")
        let link = Self.refusal { _ = try EntryPathPolicy.components(ofLinkTarget: Self.bytes(name), entry: Self.bytes("h")) }
        #expect(link?.message.contains("has a \"..\" component") == true, "\(String(describing: link))")
    }

    @Test(arguments: ["/x", #"\x"#, #"\\server\share\x"#, #"C:\x"#, "C:x", "c:/x"])
    func absoluteNamesAreRefused(_ name: String) {
        let error = Self.refusal { _ = try EntryPathPolicy.components(ofEntry: Self.bytes(name)) }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.message.contains("is absolute") == true, "\(String(describing: error))")
    }

    @Test func ordinaryNamesPassAsTheirComponents() throws {
        #expect(try EntryPathPolicy.components(ofEntry: Self.bytes("./a/..b/c..")) == [Self.bytes("a"), Self.bytes("..b"), Self.bytes("c..")])
        #expect(try EntryPathPolicy.components(ofEntry: Self.bytes(#"a\b"#)) == [Self.bytes("a"), Self.bytes("b")])
        #expect(try EntryPathPolicy.components(ofEntry: Self.bytes("./")).isEmpty)
    }

    /// A symlink's target is refused before it is followed when it is absolute, has a backslash or is empty.
    @Test func symlinkTargetsThatCannotMeanTheSameEverywhereAreRefused() {
        #expect(EntryPathPolicy.refusal(ofSymlinkTarget: Self.bytes("/etc")) == "is an absolute path")
        #expect(EntryPathPolicy.refusal(ofSymlinkTarget: Self.bytes("C:x")) == "is an absolute path")
        #expect(EntryPathPolicy.refusal(ofSymlinkTarget: Self.bytes(#"..\x"#)) == "contains a backslash")
        #expect(EntryPathPolicy.refusal(ofSymlinkTarget: []) == "is empty")
        #expect(EntryPathPolicy.refusal(ofSymlinkTarget: Self.bytes("../sibling/x")) == nil)
    }

    /// The tree follows a symlink's target through the symlinks made so far, as the kernel would.
    @Test func theTreeTellsATargetLeavingTheDirectoryFromOneStayingInside() {
        var tree = ExtractedTree()
        let sub = tree.add(.directory, named: Self.bytes("sub"), under: ExtractedTree.root)
        _ = tree.add(.symlink(target: Self.bytes(".")), named: Self.bytes("self"), under: ExtractedTree.root)
        #expect(tree.escape(fromDirectory: sub, target: Self.bytes("../x")) == nil)
        #expect(tree.escape(fromDirectory: sub, target: Self.bytes("../../x"))?.contains("leads outside") == true)
        #expect(tree.escape(fromDirectory: ExtractedTree.root, target: Self.bytes("..")) != nil)
        // self -> . : self/.. is the directory's parent.
        #expect(tree.escape(fromDirectory: ExtractedTree.root, target: Self.bytes("self/self/x")) == nil)
        #expect(tree.escape(fromDirectory: ExtractedTree.root, target: Self.bytes("self/../x"))?.contains("leads outside") == true)
    }

    /// A file is created only where nothing is: a symlink already at the name (planted by anyone) is
    /// not followed, and the file it points at is untouched.
    @Test func aFileIsNeverCreatedThroughASymlinkAtItsName() throws {
        let work = try TemporaryDirectory()
        let directory = try work.path("unpack")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let extraction = try ExtractionDirectory(path: directory)
        let outside = try work.path("outside.txt")
        try Data("before".utf8).write(to: URL(fileURLWithPath: outside))
        try FileManager.default.createSymbolicLink(atPath: directory + "/planted", withDestinationPath: outside)
        let dangling = try work.path("not-there.txt")
        try FileManager.default.createSymbolicLink(atPath: directory + "/dangling", withDestinationPath: dangling)

        for name in ["planted", "dangling"] {
            let error = Self.refusal {
                let file = try extraction.createFile(Self.bytes(name))
                _ = Data("after".utf8).withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
                close(file)
            }
            #expect(error?.kind == .unsafeArchive, "\(name): \(String(describing: error))")
        }
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "before")
        #expect(!FileManager.default.fileExists(atPath: dangling))
    }

    /// A directory is made only where nothing is, and `..` names no new directory.
    @Test func aDirectoryIsNeverMadeOverAnExistingName() throws {
        let work = try TemporaryDirectory()
        let directory = try work.path("unpack")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let extraction = try ExtractionDirectory(path: directory)
        try FileManager.default.createSymbolicLink(atPath: directory + "/planted", withDestinationPath: work.path)
        for name in ["..", "planted"] {
            let error = Self.refusal { try extraction.makeDirectory(Self.bytes(name)) }
            #expect(error?.kind == .unsafeArchive, "\(name): \(String(describing: error))")
        }
    }
}
