import Foundation
import Testing
import TestSupport

/// `--dest` end to end for what only the whole tool shows: the format is found by content when
/// neither the name nor the registry says (cache and registry), and hostile input ends fast, in
/// bounded memory, with one short line and no staging left. Runs in a child process with a hard
/// timeout, so code that hangs fails the test instead of the suite.
@Suite(.offPool) struct UnpackBoundsTests {
    /// `pkgfetch ARGS` under `timeout -s KILL`, with its peak memory.
    private func bounded(_ arguments: [String], seconds: Int = 60, environment: [String: String]? = nil) throws -> MeasuredProcess.Result {
        try MeasuredProcess.run(["timeout", "-s", "KILL", String(seconds), try PkgfetchCLI.path] + arguments, environment: environment)
    }

    /// A tar.bz2 with one executable, made by bsdtar.
    private func tarBzip2(at path: String, in work: TemporaryDirectory) throws {
        try FileManager.default.createDirectory(atPath: work.join("tree/bin"), withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho tool-runs\n".utf8).write(to: URL(fileURLWithPath: work.join("tree/bin/tool")))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.join("tree/bin/tool"))
        try Processes.check(["bsdtar", "-cjf", path, "-C", work.join("tree"), "bin"])
    }

    @Test func tarBzip2IsUnpacked() throws {
        let work = try TemporaryDirectory("by-content-bz2")
        try FileManager.default.createDirectory(atPath: work.join("cache"), withIntermediateDirectories: true)
        try tarBzip2(at: work.join("cache/tool.tar.bz2"), in: work)
        let run = try PkgfetchCLI.run(["fetch", "https://packages.invalid/tools/tool.tar.bz2", "--cache-dir", work.join("cache"), "--dest", work.join("dest")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Processes.run([work.join("dest/bin/tool")]).stdout == "tool-runs\n")
        #expect(!FileManager.default.fileExists(atPath: work.join("dest/tool.tar.bz2")))
    }

    /// A package named `pkg` (no extension): what is in it decides.
    @Test(arguments: [
        ("tar.bz2", 0, "bin/tool"), ("7z", 60, "format '7z'"), ("deb", 60, "format 'deb'"), ("cpio", 60, "format 'cpio'"),
        ("rar", 60, "format 'rar'"), ("elf", 0, "pkg"), ("text", 0, "pkg"),
    ])
    func contentDecidesWhenTheNameSaysNothing(_ content: String, _ status: Int32, _ expected: String) throws {
        let work = try TemporaryDirectory("by-content")
        try FileManager.default.createDirectory(atPath: work.join("cache"), withIntermediateDirectories: true)
        let package = work.join("cache/pkg")
        switch content {
        case "tar.bz2": try tarBzip2(at: package, in: work)
        case "7z": try Data([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C, 0, 4] + Array(repeating: 0, count: 24)).write(to: URL(fileURLWithPath: package))
        case "deb": try Data("!<arch>\ndebian-binary   1700000000  0     0     100644  4         `\n2.0\n".utf8).write(to: URL(fileURLWithPath: package))
        case "cpio": try Data(("070701" + String(repeating: "0", count: 104) + "TRAILER!!!").utf8).write(to: URL(fileURLWithPath: package))
        case "rar": try Data("Rar!\u{1A}\u{7}\u{1}\u{0}".utf8 + Array(repeating: 0, count: 24)).write(to: URL(fileURLWithPath: package))
        case "elf": try FileManager.default.copyItem(atPath: "/bin/true", toPath: package)
        default: try Data("plain notes, no archive\n".utf8).write(to: URL(fileURLWithPath: package))
        }
        let run = try PkgfetchCLI.run(["fetch", "https://packages.invalid/tools/pkg", "--cache-dir", work.join("cache"), "--dest", work.join("dest")])
        #expect(run.status == status, "\(content): \(run.stderr)")
        if status == 0 {
            #expect(FileManager.default.fileExists(atPath: work.join("dest/\(expected)")), "\(content)")
            if content == "tar.bz2" { #expect(!FileManager.default.fileExists(atPath: work.join("dest/pkg"))) }
        } else {
            #expect(run.stderr.contains("error[unpack-failed]") && run.stderr.contains(expected), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: work.join("dest")))
            #expect(Files.stagingDirectories(in: work.path) == [])
        }
    }

    /// A registry layer titled `bundle`, media type `application/vnd.oci.image.layer.v1.tar` (what oras
    /// gives any file): neither says it is a tar.gz, the bytes do.
    @Test func registryLayerWhoseTitleSaysNothingIsUnpackedByContent() throws {
        let work = try TemporaryDirectory("by-content-registry")
        try FileManager.default.createDirectory(atPath: work.join("push"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work.join("tree/bin"), withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho bundle-runs\n".utf8).write(to: URL(fileURLWithPath: work.join("tree/bin/tool")))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.join("tree/bin/tool"))
        try Processes.check(["bsdtar", "-czf", work.join("push/bundle"), "-C", work.join("tree"), "bin"])
        let registry = try TestRegistry()
        _ = try registry.pushWithORAS(work.join("push/bundle"), repository: "tools/bundle", tag: "v1.0.0")
        try Data(#"[{"name": "tools", "path": "/tools/(?<version>v[^/]+)/(?<package>[a-z]+)", "reference": "tools/{package}:{version}"}]"#.utf8)
            .write(to: URL(fileURLWithPath: work.join("rules.json")))

        let run = try PkgfetchCLI.run(["fetch", "https://packages.invalid/tools/v1.0.0/bundle", "--rules", work.join("rules.json"),
                                       "--bootstrap-registry", registry.host, "--dest", work.join("dest")],
                                      environment: ["HOME": work.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? ""])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Processes.run([work.join("dest/bin/tool")]).stdout == "bundle-runs\n")
        #expect(!FileManager.default.fileExists(atPath: work.join("dest/bundle")))
    }

    /// A gzip that decompresses to itself: one compression layer is read, the second is refused.
    @Test func gzipQuineEndsFastInBoundedMemory() throws {
        let work = try TemporaryDirectory("quine")
        try FileManager.default.createDirectory(atPath: work.join("cache"), withIntermediateDirectories: true)
        try Data(GzipQuine.make()).write(to: URL(fileURLWithPath: work.join("cache/kubernetes-node-linux-amd64.tar.gz")))
        let run = try bounded(["fetch", "https://packages.invalid/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz",
                               "--cache-dir", work.join("cache"), "--dest", work.join("dest")])
        #expect(run.status == 60, "\(run.stderr)")
        #expect(run.stderr.contains("gzip data that holds gzip data again"), "\(run.stderr)")
        #expect(run.wallSeconds < 10)
        #expect(run.maxResidentKiB < 200 << 10, "peak \(run.maxResidentKiB) KiB")
        #expect(!FileManager.default.fileExists(atPath: work.join("dest")))
        #expect(Files.stagingDirectories(in: work.path) == [])
    }

    /// One entry of 10,000 components (20 KB of name, a 30 KB archive): refused from its length before
    /// anything is kept for it, the message one short line, nothing left behind.
    @Test func veryDeepNameIsRefusedUpFront() throws {
        let work = try TemporaryDirectory("deep-name")
        try FileManager.default.createDirectory(atPath: work.join("cache"), withIntermediateDirectories: true)
        let archive = work.join("cache/kubernetes-node-linux-amd64.tar.gz")
        try Processes.check(["python3", "-c", """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1], 'w:gz', format=tarfile.PAX_FORMAT) as tar:
                info = tarfile.TarInfo('a/' * 10000 + 'x'); info.size = 1
                tar.addfile(info, io.BytesIO(b'x'))
            """, archive])
        let run = try bounded(["fetch", "https://packages.invalid/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz",
                               "--cache-dir", work.join("cache"), "--dest", work.join("dest")])
        #expect(run.status == 61, "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(run.stderr.count < 400, "\(run.stderr.count) characters: \(run.stderr.prefix(400))")
        #expect(run.stderr.contains("more than 4095 (PATH_MAX)"), "\(run.stderr)")
        #expect(run.maxResidentKiB < 100 << 10, "peak \(run.maxResidentKiB) KiB")
        #expect(!FileManager.default.fileExists(atPath: work.join("dest")))
        #expect(Files.stagingDirectories(in: work.path) == [])
    }
}
