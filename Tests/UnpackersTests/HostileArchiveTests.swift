import Foundation
import Pipeline
import Testing
import TestSupport
import Unpackers

/// One hostile archive: what it holds, and the entry the refusal must name. `$ROOT` in a name or
/// target stands for the sandbox, so that an absolute path aims at a place `Sandbox.strays()` watches.
struct HostileCase: Sendable, CustomTestStringConvertible {
    let label: String
    let format: ArchiveBuilder.Format
    let entries: [TestEntry]
    let refusedEntry: String
    /// Words the refusal's reason must contain.
    let reason: String

    var testDescription: String { label }

    static func backslashed(_ text: String) -> [UInt8] { Array(text.utf8) }

    // libarchive turns `\` into `/` in zip names before anyone sees them, so a refusal names
    // `..\..\x` as `../../x`.
    static let all: [HostileCase] = [
        // Paths.
        HostileCase(label: "tar: ../ path", format: .tar, entries: [.file("../../escaped.txt", "x")],
                    refusedEntry: "../../escaped.txt", reason: "\"..\" component"),
        HostileCase(label: "tar: .. inside a path", format: .tarGzip, entries: [.file("a/b/../../../../escaped.txt", "x")],
                    refusedEntry: "a/b/../../../../escaped.txt", reason: "\"..\" component"),
        HostileCase(label: "tar: absolute path", format: .tar, entries: [.file("$ROOT/escaped.txt", "x")],
                    refusedEntry: "$ROOT/escaped.txt", reason: "is absolute"),
        HostileCase(label: "zip: ../ path", format: .zip, entries: [.file("../../escaped.txt", "x")],
                    refusedEntry: "../../escaped.txt", reason: "\"..\" component"),
        HostileCase(label: "zip: ..\\ path", format: .zip,
                    entries: [.rawName(backslashed(#"..\..\escaped.txt"#), shownAs: #"..\..\escaped.txt"#)],
                    refusedEntry: "../../escaped.txt", reason: "\"..\" component"),
        HostileCase(label: "zip: absolute path", format: .zip, entries: [.file("$ROOT/escaped.txt", "x")],
                    refusedEntry: "$ROOT/escaped.txt", reason: "is absolute"),
        HostileCase(label: "zip: drive letter", format: .zip,
                    entries: [.rawName(backslashed(#"C:\escaped.txt"#), shownAs: #"C:\escaped.txt"#)],
                    refusedEntry: "C:/escaped.txt", reason: "is absolute"),
        HostileCase(label: "zip: UNC path", format: .zip,
                    entries: [.rawName(backslashed(#"\\server\share\escaped.txt"#), shownAs: #"\\server\share\escaped.txt"#)],
                    refusedEntry: "//server/share/escaped.txt", reason: "is absolute"),
        HostileCase(label: "tar: entry naming the directory itself as a symlink", format: .tar,
                    entries: [.symlink(".", to: "$ROOT")], refusedEntry: ".", reason: "names the unpack directory itself"),

        // Symlinks.
        HostileCase(label: "tar: symlink to an absolute path, then a file through it", format: .tar,
                    entries: [.symlink("link", to: "$ROOT"), .file("link/escaped.txt", "x")],
                    refusedEntry: "link", reason: "is an absolute path"),
        HostileCase(label: "zip: symlink to an absolute path, then a file through it", format: .zip,
                    entries: [.symlink("link", to: "$ROOT"), .file("link/escaped.txt", "x")],
                    refusedEntry: "link", reason: "is an absolute path"),
        HostileCase(label: "tar: relative symlink walking up", format: .tar,
                    entries: [.symlink("up", to: "../../.."), .file("up/escaped.txt", "x")],
                    refusedEntry: "up", reason: "leads outside"),
        HostileCase(label: "zip: nested relative symlink walking up", format: .zip,
                    entries: [.dir("sub/dir/"), .symlink("sub/dir/up", to: "../../../.."), .file("sub/dir/up/escaped.txt", "x")],
                    refusedEntry: "sub/dir/up", reason: "leads outside"),
        HostileCase(label: "tar: file written through a symlink that points inside", format: .tar,
                    entries: [.dir("sub/"), .symlink("inner", to: "sub"), .file("inner/file.txt", "x")],
                    refusedEntry: "inner/file.txt", reason: "through the symlink \"inner\""),
        HostileCase(label: "zip: dir -> . then a path through it", format: .zip,
                    entries: [.symlink("self", to: "."), .file("self/self/escaped.txt", "x")],
                    refusedEntry: "self/self/escaped.txt", reason: "through the symlink \"self\""),
        HostileCase(label: "tar: symlink that escapes only once later entries exist", format: .tar,
                    entries: [.symlink("a", to: "b/c/../.."), .symlink("b", to: "."), .dir("c/")],
                    refusedEntry: "a", reason: "leads outside"),
        HostileCase(label: "tar: symlink made to escape by a later symlink to .", format: .tar,
                    entries: [.symlink("a", to: "l/.."), .symlink("l", to: ".")],
                    refusedEntry: "a", reason: "leads outside"),
        HostileCase(label: "tar: symlink loop", format: .tar,
                    entries: [.symlink("a", to: "b"), .symlink("b", to: "a")],
                    refusedEntry: "a", reason: "symlink loop"),
        HostileCase(label: "zip: symlink with a backslash target", format: .zip,
                    entries: [.symlink("link", to: #"..\..\escaped"#)],
                    refusedEntry: "link", reason: "backslash"),

        // Hard links.
        HostileCase(label: "tar: hard link to an absolute path", format: .tar,
                    entries: [.hardlink("h", to: "$ROOT/deep/outside.txt")], refusedEntry: "h", reason: "is absolute"),
        HostileCase(label: "tar: hard link walking up", format: .tar,
                    entries: [.hardlink("h", to: "../../outside.txt")], refusedEntry: "h", reason: "\"..\" component"),
        HostileCase(label: "tar: hard link to a missing entry", format: .tar,
                    entries: [.hardlink("h", to: "nothere.txt")], refusedEntry: "h", reason: "not a regular file extracted before it"),
        HostileCase(label: "tar: hard link to a symlink", format: .tar,
                    entries: [.file("file.txt", "x"), .symlink("s", to: "file.txt"), .hardlink("h", to: "s")],
                    refusedEntry: "h", reason: "not a regular file extracted before it"),
        HostileCase(label: "tar: hard link through a symlink", format: .tar,
                    entries: [.dir("sub/"), .file("sub/f", "x"), .symlink("l", to: "sub"), .hardlink("h", to: "l/f")],
                    refusedEntry: "h", reason: "not a regular file extracted before it"),
        HostileCase(label: "tar: hard link to a directory", format: .tar,
                    entries: [.dir("sub/"), .hardlink("h", to: "sub")],
                    refusedEntry: "h", reason: "not a regular file extracted before it"),

        // Special files.
        HostileCase(label: "tar: character device", format: .tar, entries: [.special("null", .chr)],
                    refusedEntry: "null", reason: "character device"),
        HostileCase(label: "tar: block device", format: .tarGzip, entries: [.special("disk", .blk)],
                    refusedEntry: "disk", reason: "block device"),
        HostileCase(label: "tar: FIFO", format: .tar, entries: [.special("pipe", .fifo)],
                    refusedEntry: "pipe", reason: "FIFO"),
        HostileCase(label: "zip: socket", format: .zip, entries: [.special("sock", .socket)],
                    refusedEntry: "sock", reason: "socket"),
        HostileCase(label: "zip: character device", format: .zip, entries: [.special("null", .chr)],
                    refusedEntry: "null", reason: "character device"),

        // Duplicates.
        HostileCase(label: "tar: directory replaced by a symlink, then a file through it", format: .tar,
                    entries: [.dir("sub/"), .dir("d/"), .file("d/ok.txt", "x"), .symlink("d", to: "sub"), .file("d/escaped.txt", "x")],
                    refusedEntry: "d", reason: "replace the directory"),
        HostileCase(label: "zip: directory replaced by an absolute symlink", format: .zip,
                    entries: [.dir("d/"), .symlink("d", to: "$ROOT"), .file("d/escaped.txt", "x")],
                    refusedEntry: "d", reason: "replace the directory"),
        HostileCase(label: "tar: symlink replaced by a directory", format: .tar,
                    entries: [.dir("sub/"), .symlink("d", to: "sub"), .dir("d/")],
                    refusedEntry: "d/", reason: "with a directory"),
        HostileCase(label: "tar: file replaced by a symlink, then a file through it", format: .tar,
                    entries: [.dir("sub/"), .file("f", "x"), .symlink("f", to: "sub"), .file("f/escaped.txt", "x")],
                    refusedEntry: "f/escaped.txt", reason: "through the symlink \"f\""),
        HostileCase(label: "tar: file used as a directory", format: .tar,
                    entries: [.file("f", "x"), .file("f/x", "x")],
                    refusedEntry: "f/x", reason: "below the file \"f\""),
    ]
}

@Suite("Hostile archives are refused with unsafe-archive (61), naming the entry, and write nothing outside", .offPool)
struct HostileArchiveTests {
    @Test(arguments: HostileCase.all)
    func refused(_ hostile: HostileCase) async throws {
        let sandbox = try Sandbox()
        let place = { (text: String) in text.replacingOccurrences(of: "$ROOT", with: sandbox.root) }
        let entries = hostile.entries.map { entry in
            var entry = entry
            entry.name = place(entry.name)
            entry.target = entry.target.map(place)
            return entry
        }
        try ArchiveBuilder.build(hostile.format, entries, at: sandbox.archive)

        let error = await #expect(throws: PkgfetchError.self) { try await sandbox.unpack() }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.kind.exitCode == 61)
        #expect(error?.message.contains("entry \"\(place(hostile.refusedEntry))\" refused") == true,
                "names the entry: \(error?.message ?? "")")
        #expect(error?.message.contains(hostile.reason) == true, "says why: \(error?.message ?? "")")
        #expect(try sandbox.strays() == [])
    }

    /// libarchive's zip reader turns a FIFO entry into a regular file before anyone sees its type, so
    /// there is nothing to refuse; what matters is that no FIFO is ever made.
    @Test func zipFIFOBecomesAnEmptyRegularFile() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.zip, [.special("pipe", .fifo)], at: sandbox.archive)
        _ = try await sandbox.unpack()
        #expect(try TreeSnapshot(sandbox.target)["pipe"]?.type == "file")
        #expect(try sandbox.strays() == [])
    }
}
