import Foundation
import Testing
import TestSupport

/// Shaping on install (`--include`, `--strip-components`, `--rename-suffix`, `--rename`) end to end:
/// real tar.gz and zip archives built with bsdtar, served by real nginx, merged into directories
/// that already hold files; and each refusal leaves the destination exactly as it was.
@Suite(.offPool) struct ShapingTests {
    /// A kubelet-like tarball, a credential-provider-like zip and a plain file, on nginx.
    struct Packages {
        let work: TemporaryDirectory
        let cdn: Nginx
        static let kubernetes = "/kubernetes/v1.34.1/binaries/kubernetes-node-linux-amd64.tar.gz"
        static let provider = "/cloud-provider-azure/v1.34.0/binaries/azure-acr-credential-provider-linux-amd64-v1.34.0.zip"
        static let plain = "/tools/v1/crictl"

        init(_ label: String, kubeletText: String = "kubelet-1.34.1") throws {
            work = try TemporaryDirectory(label)
            cdn = try Nginx(root: work.join("cdn"))
            let tree = work.join("tree")
            try FileManager.default.createDirectory(atPath: tree + "/kubernetes/node/bin", withIntermediateDirectories: true)
            for name in ["kubelet", "kubectl", "kubeadm"] {
                try Data("#!/bin/sh\necho \(name == "kubelet" ? kubeletText : name)\n".utf8).write(to: URL(fileURLWithPath: tree + "/kubernetes/node/bin/" + name))
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tree + "/kubernetes/node/bin/" + name)
            }
            try Data("notes".utf8).write(to: URL(fileURLWithPath: tree + "/kubernetes/README"))
            try FileManager.default.createDirectory(atPath: work.join("provider"), withIntermediateDirectories: true)
            try Data("acr-provider".utf8).write(to: URL(fileURLWithPath: work.join("provider/azure-acr-credential-provider")))
            for path in [Self.kubernetes, Self.provider, Self.plain] {
                try FileManager.default.createDirectory(atPath: (cdn.file(path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            }
            try Processes.check(["bsdtar", "-czf", cdn.file(Self.kubernetes), "-C", tree, "kubernetes"])
            try Processes.check(["bsdtar", "--format", "zip", "-cf", cdn.file(Self.provider), "-C", work.join("provider"), "azure-acr-credential-provider"])
            try Data("crictl-binary".utf8).write(to: URL(fileURLWithPath: cdn.file(Self.plain)))
        }

        func fetch(_ arguments: [String]) throws -> ProcessOutput {
            try PkgfetchCLI.run(["fetch"] + arguments, environment: LoopbackCLI.environment())
        }

        /// A directory with files of its own, the way /usr/local/bin is before a node's bootstrap.
        func existingDirectory(_ name: String) throws -> String {
            let directory = work.join(name)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data("someone-else's".utf8).write(to: URL(fileURLWithPath: directory + "/keep"))
            try Data("old kubelet".utf8).write(to: URL(fileURLWithPath: directory + "/kubelet-1.34.1"))
            return directory
        }
    }

    /// Every path under `directory` with its bytes (directories as "dir").
    static func snapshot(_ directory: String) throws -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let path = enumerator?.nextObject() as? String {
            let full = directory + "/" + path
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory)
            result[path] = isDirectory.boolValue ? "dir" : String(decoding: try Data(contentsOf: URL(fileURLWithPath: full)), as: UTF8.self)
        }
        return result
    }

    @Test func fetchMergesKubeletAndKubectlWithASuffixIntoADirectoryWithFiles() throws {
        let packages = try Packages("e2e-shape-fetch")
        let bin = try packages.existingDirectory("usr/local/bin")
        let run = try packages.fetch([packages.cdn.url(Packages.kubernetes), "--dest", bin,
                                      "--include", "kubernetes/node/bin/kubelet", "--include", "kubernetes/node/bin/kubectl",
                                      "--strip-components", "3", "--rename-suffix", "-1.34.1", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        // The entries reported are the ones installed, not every one read past.
        let result = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(result?["entries"] as? Int == 2, "\(run.stdout)")
        // Only the chosen members, stripped and renamed; what was there and is not in the package stays.
        #expect(try FileManager.default.contentsOfDirectory(atPath: bin).sorted() == ["keep", "kubectl-1.34.1", "kubelet-1.34.1"])
        #expect(try Processes.run([bin + "/kubelet-1.34.1"]).stdout == "kubelet-1.34.1\n")
        #expect(try Processes.run([bin + "/kubectl-1.34.1"]).stdout == "kubectl\n")
        #expect(try String(contentsOfFile: bin + "/keep", encoding: .utf8) == "someone-else's")
    }

    @Test func aGlobStopsAtSlashAndADirectoryTakesWhatIsUnderIt() throws {
        let packages = try Packages("e2e-shape-glob")
        let star = try packages.fetch([packages.cdn.url(Packages.kubernetes), "--dest", packages.work.join("star"),
                                       "--include", "kubernetes/*", "--strip-components", "1"])
        // `kubernetes/*` matches `kubernetes/node` (a directory: all under it) and `kubernetes/README`.
        #expect(star.status == 0, "\(star.stderr)")
        #expect(try Self.snapshot(packages.work.join("star")).keys.sorted() == ["README", "node", "node/bin", "node/bin/kubeadm",
                                                                                 "node/bin/kubectl", "node/bin/kubelet"])
        // `*` does not cross '/': `*/kubelet` names nothing in this package.
        let noCross = try packages.fetch([packages.cdn.url(Packages.kubernetes), "--dest", packages.work.join("none"), "--include", "*/kubelet"])
        #expect(noCross.status == 33, "\(noCross.stderr)")
        let sets = try packages.fetch([packages.cdn.url(Packages.kubernetes), "--dest", packages.work.join("sets"),
                                       "--include", "kubernetes/node/bin/kube[cl]?[!x]*", "--strip-components", "3"])
        #expect(sets.status == 0, "\(sets.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: packages.work.join("sets")).sorted() == ["kubectl", "kubelet"])
    }

    @Test func renameNamesTheOneFileOfAZipAndOfAPlainFile() throws {
        let packages = try Packages("e2e-shape-rename")
        let providers = packages.work.join("var/lib/kubelet/credential-provider")
        let zip = try packages.fetch([packages.cdn.url(Packages.provider), "--dest", providers, "--rename", "acr-credential-provider"])
        #expect(zip.status == 0, "\(zip.stderr)")
        #expect(try String(contentsOfFile: providers + "/acr-credential-provider", encoding: .utf8) == "acr-provider")
        #expect(try FileManager.default.contentsOfDirectory(atPath: providers) == ["acr-credential-provider"])
        // A file that is no archive is the one member of itself: renamed, and suffixed.
        let plain = try packages.fetch([packages.cdn.url(Packages.plain), "--dest", packages.work.join("tools"), "--rename", "crictl-v1"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(try String(contentsOfFile: packages.work.join("tools/crictl-v1"), encoding: .utf8) == "crictl-binary")
        let suffixed = try packages.fetch([packages.cdn.url(Packages.plain), "--dest", packages.work.join("tools"), "--no-unpack",
                                           "--rename-suffix=-v1.2"])
        #expect(suffixed.status == 0, "\(suffixed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: packages.work.join("tools")).sorted() == ["crictl-v1", "crictl-v1.2"])
    }

    /// Each refusal: one line on stderr, the documented exit code, and the destination as it was (no
    /// staging left in it either).
    @Test(arguments: [
        (["--rename", "bin/kubelet"], Int32(2), "path separator"),
        (["--rename", ".."], Int32(2), "contains \"..\""),
        (["--rename-suffix", "/x"], Int32(2), "path separator"),
        (["--strip-components", "4"], Int32(33), "left no file"),
        (["--include", "kubernetes/node/bin/kubelet", "--strip-components", "3", "--include", "nope/*"], Int32(33), "\"nope/*\" matched no member"),
        (["--rename", "kubelet"], Int32(33), "names one file"),
        (["--include", "kubernetes/node/bin/kubelet", "--rename-suffix", String(repeating: "x", count: 250)], Int32(61), "NAME_MAX"),
    ])
    func refusalsLeaveTheDestinationAsItWas(arguments: [String], status: Int32, says: String) throws {
        let packages = try Packages("e2e-shape-refuse")
        let bin = try packages.existingDirectory("usr/local/bin")
        let before = try Self.snapshot(bin)
        let run = try packages.fetch([packages.cdn.url(Packages.kubernetes), "--dest", bin] + arguments)
        #expect(run.status == status, "\(run.stderr)")
        #expect(run.stderr.contains(says), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "one line: \(run.stderr)")
        #expect(try Self.snapshot(bin) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: packages.work.join("usr/local")) == ["bin"], "no staging debris")
    }

    @Test func shapingWithOutputIsAUsageError() throws {
        let packages = try Packages("e2e-shape-output")
        let run = try packages.fetch([packages.cdn.url(Packages.kubernetes), "--output", packages.work.join("k.tgz"), "--rename", "k"])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("go with --dest"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: packages.work.join("k.tgz")))
    }

    /// A symlink that points inside the archive's tree can point outside once its directory moves up:
    /// the tree's symlink check sees the stripped names, so it is refused.
    @Test func aSymlinkThatStrippingMakesEscapeIsRefused() throws {
        let work = try TemporaryDirectory("e2e-shape-symlink")
        let cdn = try Nginx(root: work.join("cdn"))
        let tree = work.join("tree")
        try FileManager.default.createDirectory(atPath: tree + "/pkg/bin", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: tree + "/pkg/target"))
        // pkg/bin/link -> ../../pkg/target stays inside the archive; bin/link -> ../../pkg/target does not.
        try FileManager.default.createSymbolicLink(atPath: tree + "/pkg/bin/link", withDestinationPath: "../../pkg/target")
        try Processes.check(["bsdtar", "-czf", cdn.file("/links.tgz"), "-C", tree, "pkg"])
        let inside = try PkgfetchCLI.run(["fetch", cdn.url("/links.tgz"), "--dest", work.join("inside")], environment: LoopbackCLI.environment())
        #expect(inside.status == 0, "\(inside.stderr)")
        try FileManager.default.createDirectory(atPath: work.join("dest"), withIntermediateDirectories: true)
        let run = try PkgfetchCLI.run(["fetch", cdn.url("/links.tgz"), "--dest", work.join("dest"), "--strip-components", "1"],
                                      environment: LoopbackCLI.environment())
        #expect(run.status == 61, "\(run.stderr)")
        #expect(run.stderr.contains("leads outside"), "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.join("dest")) == [])
    }

    @Test func batchEntriesInstallTwoVersionsSideBySide() throws {
        let packages = try Packages("e2e-shape-batch")
        // A second version of the tarball at another URL.
        let older = "/kubernetes/v1.33.5/binaries/kubernetes-node-linux-amd64.tar.gz"
        let olderTree = packages.work.join("older")
        try FileManager.default.createDirectory(atPath: olderTree + "/kubernetes/node/bin", withIntermediateDirectories: true)
        try Data("old-one".utf8).write(to: URL(fileURLWithPath: olderTree + "/kubernetes/node/bin/kubelet"))
        try FileManager.default.createDirectory(atPath: (packages.cdn.file(older) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Processes.check(["bsdtar", "-czf", packages.cdn.file(older), "-C", olderTree, "kubernetes"])
        let bin = try packages.existingDirectory("bin")
        let entries: [[String: Any]] = [
            ["url": packages.cdn.url(Packages.kubernetes), "dest": bin, "include": ["kubernetes/node/bin/kubelet"], "stripComponents": 3,
             "renameSuffix": "-1.34.1"],
            ["url": packages.cdn.url(older), "dest": bin, "include": ["kubernetes/node/bin/kubelet"], "stripComponents": 3,
             "renameSuffix": "-1.33.5"],
            ["url": packages.cdn.url(Packages.provider), "dest": packages.work.join("cred"), "rename": "acr-credential-provider"],
        ]
        try JSONSerialization.data(withJSONObject: entries).write(to: URL(fileURLWithPath: packages.work.join("list.json")))
        let run = try PkgfetchCLI.run(["batch", packages.work.join("list.json")], environment: LoopbackCLI.environment())
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: bin).sorted() == ["keep", "kubelet-1.33.5", "kubelet-1.34.1"])
        #expect(try String(contentsOfFile: bin + "/kubelet-1.33.5", encoding: .utf8) == "old-one")
        #expect(try Processes.run([bin + "/kubelet-1.34.1"]).stdout == "kubelet-1.34.1\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: packages.work.join("cred")) == ["acr-credential-provider"])

        // A bad field is a usage error naming the entry, before anything is fetched.
        let gets = packages.cdn.accessLog.count
        let bad: [[String: Any]] = [["url": packages.cdn.url(Packages.provider), "dest": packages.work.join("cred"), "rename": "a/b"]]
        try JSONSerialization.data(withJSONObject: bad).write(to: URL(fileURLWithPath: packages.work.join("bad.json")))
        let refused = try PkgfetchCLI.run(["batch", packages.work.join("bad.json")], environment: LoopbackCLI.environment())
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("batch list entry 1: \"rename\" \"a/b\" refused"), "\(refused.stderr)")
        #expect(packages.cdn.accessLog.count == gets)
        let withOutput: [[String: Any]] = [["url": packages.cdn.url(Packages.provider), "output": packages.work.join("p.zip"), "stripComponents": 1]]
        try JSONSerialization.data(withJSONObject: withOutput).write(to: URL(fileURLWithPath: packages.work.join("output.json")))
        let output = try PkgfetchCLI.run(["batch", packages.work.join("output.json")], environment: LoopbackCLI.environment())
        #expect(output.status == 2, "\(output.stderr)")
        #expect(output.stderr.contains("go with \"dest\""), "\(output.stderr)")
    }

    /// From a real registry: a tarball layer pulled by reference (`oras pull` + `tar -x
    /// --strip-components`), and an artifact of several titled files whose names get a suffix and
    /// whose choice is a glob over the titles.
    @Test func aReferencePullIsShapedAsACDNDownloadIs() throws {
        typealias E = ORASEndToEnd
        let packages = try Packages("e2e-shape-registry")
        let registry = try TestRegistry()
        try registry.pushWithORAS(packages.cdn.file(Packages.kubernetes), repository: "oss/kubernetes-node", tag: "v1.34.1")
        let bin = try packages.existingDirectory("usr/local/bin")
        let tarball = try PkgfetchCLI.run(["fetch", "\(registry.host)/oss/kubernetes-node:v1.34.1", "--dest", bin,
                                           "--include", "kubernetes/node/bin/kubelet", "--strip-components", "3", "--rename-suffix", "-1.34.1"],
                                          environment: E.environment(home: packages.work.path))
        #expect(tarball.status == 0, "\(tarball.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: bin).sorted() == ["keep", "kubelet-1.34.1"])
        #expect(try Processes.run([bin + "/kubelet-1.34.1"]).stdout == "kubelet-1.34.1\n")

        let push = packages.work.join("push")
        try FileManager.default.createDirectory(atPath: push, withIntermediateDirectories: true)
        let names = ["sysext.raw", "SHA256SUMS", "notes.txt"]
        for (index, name) in names.enumerated() { try Files.writeRandom(push + "/" + name, size: 20_000 + index, seed: 40 + UInt64(index)) }
        try registry.pushWithORAS(files: names, in: push, repository: "flatcar/sysext", tag: "v1")
        let set = try PkgfetchCLI.run(["fetch", "\(registry.host)/flatcar/sysext:v1", "--dest", packages.work.join("sysext"),
                                       "--include", "[sS]*", "--rename-suffix", ".v1"], environment: E.environment(home: packages.work.path))
        #expect(set.status == 0, "\(set.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: packages.work.join("sysext")).sorted() == ["SHA256SUMS.v1", "sysext.raw.v1"])
        #expect(try Files.sha256(packages.work.join("sysext/sysext.raw.v1")) == (try Files.sha256(push + "/sysext.raw")))
        // --rename names one file, and this artifact has three: refused before a layer is fetched, nothing written.
        let many = try PkgfetchCLI.run(["fetch", "\(registry.host)/flatcar/sysext:v1", "--dest", packages.work.join("many"), "--rename", "x"],
                                       environment: E.environment(home: packages.work.path))
        #expect(many.status == 33, "\(many.stderr)")
        #expect(!FileManager.default.fileExists(atPath: packages.work.join("many")))
    }
}
