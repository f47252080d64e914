import Foundation
import Testing
import TestSupport

/// The CLI end to end on the cache (`file`) path: no network involved.
@Suite(.offPool) struct CachePathTests {
    static let kubernetesURL = "https://packages.invalid/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz"

    @Test func preCachedPackageInstallsWithoutTheNetwork() throws {
        let dir = try TemporaryDirectory("cache")
        try FileManager.default.createDirectory(atPath: dir.join("cache/k8s/v1.33.7"), withIntermediateDirectories: true)
        try Files.writeRandom(dir.join("cache/k8s/v1.33.7/kubernetes-node-linux-amd64.tar.gz"), size: 5_000_000)
        // The host does not resolve: success proves the network was not touched.
        let run = try PkgfetchCLI.run(["fetch", Self.kubernetesURL, "--cache-dir", dir.join("cache"),
                                       "--output", dir.join("out/kubernetes-node.tar.gz"), "--json", "--events", dir.join("events.jsonl")])
        #expect(run.status == 0, "\(run.stderr)")
        let expected = try Files.sha256(dir.join("cache/k8s/v1.33.7/kubernetes-node-linux-amd64.tar.gz"))
        #expect(try Files.sha256(dir.join("out/kubernetes-node.tar.gz")) == expected)
        let result = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(result?["outcome"] as? String == "ok")
        #expect(result?["scheme"] as? String == "file")
        #expect(result?["digest"] as? String == "sha256:" + expected)
        #expect(result?["version"] as? String == "v1.33.7")
        let events = try String(contentsOfFile: dir.join("events.jsonl"), encoding: .utf8).split(separator: "\n")
        let tasks = events.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(tasks.map { $0["task"] as? String } == ["resolve", "fetch", "install"])
        #expect(Set(tasks.compactMap { $0["operationId"] as? String }).count == 1)
        #expect(dir.listing().filter { $0.contains(".pkgfetch-staging") }.isEmpty)

        let durable = try PkgfetchCLI.run(["fetch", Self.kubernetesURL, "--cache-dir", dir.join("cache"), "--fsync",
                                           "--output", dir.join("out/durable.tar.gz")])
        #expect(durable.status == 0, "\(durable.stderr)")
        #expect(try Files.sha256(dir.join("out/durable.tar.gz")) == expected)
    }

    /// A cached archive is unpacked where it lies (verified, not copied), and stays as it was.
    @Test func preCachedArchiveUnpacksAndTheCacheStaysIntact() throws {
        let dir = try TemporaryDirectory("cache-unpack")
        try FileManager.default.createDirectory(atPath: dir.join("tree/kubernetes/node/bin"), withIntermediateDirectories: true)
        try Files.writeRandom(dir.join("tree/kubernetes/node/bin/kubelet"), size: 3_000_000, seed: 7)
        try FileManager.default.createDirectory(atPath: dir.join("cache"), withIntermediateDirectories: true)
        let cached = dir.join("cache/kubernetes-node-linux-amd64.tar.gz")
        _ = try Processes.check(["tar", "-czf", cached, "-C", dir.join("tree"), "kubernetes"])
        let before = try Files.sha256(cached)
        let run = try PkgfetchCLI.run(["fetch", Self.kubernetesURL, "--cache-dir", dir.join("cache"), "--sha256", before,
                                       "--dest", dir.join("node")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("node/kubernetes/node/bin/kubelet")) == (try Files.sha256(dir.join("tree/kubernetes/node/bin/kubelet"))))
        #expect(try Files.sha256(cached) == before)
        #expect(dir.listing().filter { $0.contains(".pkgfetch-staging") }.isEmpty)
        // A wrong digest: the cached archive is not unpacked, nothing is installed.
        let wrong = try PkgfetchCLI.run(["fetch", Self.kubernetesURL, "--cache-dir", dir.join("cache"), "--retries", "0",
                                         "--sha256", String(repeating: "0", count: 64), "--dest", dir.join("other")])
        #expect(wrong.status != 0)
        #expect(!FileManager.default.fileExists(atPath: dir.join("other")))
    }

    /// `--fsync`, seen through strace: the content reaches the disk before the rename that installs
    /// it, and the directory holding the new entry after it.
    @Test(arguments: ["file", "tree"])
    func fsyncForcesContentThenTheRenameToDisk(target: String) throws {
        let strace = try Tools.path(of: "strace")
        let dir = try TemporaryDirectory("cache-fsync")
        try FileManager.default.createDirectory(atPath: dir.join("tree/kubernetes/node/bin"), withIntermediateDirectories: true)
        try Files.writeRandom(dir.join("tree/kubernetes/node/bin/kubelet"), size: 500_000, seed: 11)
        try FileManager.default.createDirectory(atPath: dir.join("cache"), withIntermediateDirectories: true)
        _ = try Processes.check(["tar", "-czf", dir.join("cache/kubernetes-node-linux-amd64.tar.gz"), "-C", dir.join("tree"), "kubernetes"])
        let destination = target == "file" ? dir.join("node/new/k.tar.gz") : dir.join("node/new/k8s")
        let trace = dir.join("trace.txt")
        let run = try Processes.run([strace, "-f", "-y", "-qq", "-o", trace, "-e", "trace=fsync,fdatasync,syncfs,rename,renameat,renameat2",
                                     try PkgfetchCLI.path, "fetch", Self.kubernetesURL, "--cache-dir", dir.join("cache"), "--fsync",
                                     target == "file" ? "--output" : "--dest", destination])
        #expect(run.status == 0, "\(run.stderr)")
        let calls = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init)
        // The install renames relative to the destination's parent directory: renameat(…, <parent>, "name").
        let (parent, name) = ((destination as NSString).deletingLastPathComponent, (destination as NSString).lastPathComponent)
        let install = try #require(calls.firstIndex { $0.contains("rename") && $0.contains("<\(parent)>, \"\(name)\"") }, "\(calls)")
        let before = calls[..<install], after = calls[(install + 1)...]
        if target == "file" {
            #expect(before.contains { $0.contains("fsync(") && $0.contains(".pkgfetch-staging-") }, "the file, before: \(calls)")
        } else {
            #expect(before.contains { $0.contains("syncfs(") }, "the unpacked tree, before: \(calls)")
        }
        // node/new did not exist: node/ and node/new are synced after the rename, nothing else has to be.
        for directory in [dir.join("node"), dir.join("node/new")] {
            #expect(after.contains { $0.contains("fsync(") && $0.contains("<\(directory)>") }, "\(directory) after: \(calls)")
        }
        #expect(try Files.sha256(target == "file" ? destination : destination + "/kubernetes/node/bin/kubelet")
                == (try Files.sha256(target == "file" ? dir.join("cache/kubernetes-node-linux-amd64.tar.gz") : dir.join("tree/kubernetes/node/bin/kubelet"))))
    }

    @Test func digestMismatchOnTheCacheExits50AndLeavesNothing() throws {
        let dir = try TemporaryDirectory("cache")
        try FileManager.default.createDirectory(atPath: dir.join("cache"), withIntermediateDirectories: true)
        try Files.writeRandom(dir.join("cache/kubernetes-node-linux-amd64.tar.gz"), size: 1000)
        let run = try PkgfetchCLI.run(["fetch", Self.kubernetesURL, "--cache-dir", dir.join("cache"), "--retries", "0",
                                       "--sha256", String(repeating: "0", count: 64), "--output", dir.join("out/k.tgz")])
        // The cache copy fails verification, then the CDN host does not resolve: the last error is reported.
        #expect(run.status == 20, "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.join("out")))
        let onlyCache = try PkgfetchCLI.run(["fetch", "https://packages.invalid/x/pkg.zip", "--cache-dir", dir.join("cache"),
                                             "--output", dir.join("out/k.tgz"), "--retries", "0", "--sha256", String(repeating: "0", count: 64)])
        #expect(onlyCache.status != 0)
    }

    @Test func badURLWithARegistryExits10() throws {
        let run = try PkgfetchCLI.run(["fetch", "https://example.com/nothing/known.zip", "--bootstrap-registry", "myacr.azurecr.io",
                                       "--output", "/tmp/pkgfetch-never-written"])
        #expect(run.status == 10)
        #expect(run.stderr.hasPrefix("pkgfetch: error[resolve-failed]: "))
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/pkgfetch-never-written"))
    }

    @Test func unwritableDestinationExits70AndLeavesNothing() throws {
        let dir = try TemporaryDirectory("cache")
        try FileManager.default.createDirectory(atPath: dir.join("cache"), withIntermediateDirectories: true)
        try Files.writeRandom(dir.join("cache/kubernetes-node-linux-amd64.tar.gz"), size: 1000)
        FileManager.default.createFile(atPath: dir.join("not-a-dir"), contents: Data("x".utf8))
        let run = try PkgfetchCLI.run(["fetch", Self.kubernetesURL, "--cache-dir", dir.join("cache"),
                                       "--output", dir.join("not-a-dir/k.tgz")])
        #expect(run.status == 70, "\(run.stderr)")
        #expect(run.stderr.contains("error[destination-io]"))
        #expect(dir.listing() == ["cache", "cache/kubernetes-node-linux-amd64.tar.gz", "not-a-dir"])
        let proc = try PkgfetchCLI.run(["fetch", Self.kubernetesURL, "--cache-dir", dir.join("cache"), "--output", "/proc/pkgfetch/k.tgz"])
        #expect(proc.status == 70)
    }

    @Test func resolvePrintsReferenceAndSourceOrder() throws {
        let url = "https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-swift-windows-amd64-v1.6.20.zip"
        let withRegistry = try PkgfetchCLI.run(["resolve", url, "--bootstrap-registry", "https://myacr.azurecr.io/"])
        #expect(withRegistry.status == 0)
        #expect(withRegistry.stdout.contains("reference: myacr.azurecr.io/aks/packages/azure/azure-vnet-cni-swift:v1.6.20"))
        #expect(withRegistry.stdout.contains("1. oci: myacr.azurecr.io/aks/packages/azure/azure-vnet-cni-swift:v1.6.20"))
        let plain = try PkgfetchCLI.run(["resolve", url, "--json"])
        let plan = try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as? [String: Any]
        let sources = plan?["sources"] as? [[String: String]]
        #expect(sources?.first?["scheme"] == "https")
        #expect(sources?.first?["location"] == url)
    }

    @Test(arguments: [
        ["fetch", "https://h/x.zip"],
        ["fetch", "https://h/x.zip", "--output", "a", "--dest", "b"],
        ["fetch", "https://h/x.zip", "--output", "a", "--retry-delay", "soon"],
        ["fetch", "https://h/x.zip", "--output", "a", "--timeout", "1e300s"],
        ["fetch", "https://h/x.zip", "--output", "a", "--deadline", "99999999999999999h"],
        ["fetch", "https://h/x.zip", "--output", "a", "--sha256", "xyz"],
        ["fetch", "https://h/x.zip", "--output", "a", "--platform", "windows"],
        ["fetch", "https://h/x.zip", "--output", "a", "--bogus-flag"],
        ["fetch", "https://h/x.zip", "--output", "a", "--bootstrap-registry", "ftp://r"],
    ])
    func usageErrorsExit2WithOneLine(arguments: [String]) throws {
        let run = try PkgfetchCLI.run(arguments)
        #expect(run.status == 2, "\(arguments): \(run.stderr)")
        #expect(run.stderr.hasPrefix("pkgfetch: error[usage]: "))
        #expect(run.stderr.split(separator: "\n").count == 1)
    }

    @Test func malformedRulesFileIsAUsageErrorNamingTheRule() throws {
        let dir = try TemporaryDirectory("rules")
        FileManager.default.createFile(atPath: dir.join("rules.json"),
                                       contents: Data(#"[{"name": "mine", "path": "/(?<package>[a-z]+", "reference": "x/{package}:1"}]"#.utf8))
        let run = try PkgfetchCLI.run(["resolve", "https://h/a/b.zip", "--rules", dir.join("rules.json")])
        #expect(run.status == 2)
        #expect(run.stderr.contains("rule 'mine'"))
    }

    @Test func exitCodesTableMatchesTheLibrary() throws {
        let run = try PkgfetchCLI.run(["exit-codes", "--json"])
        #expect(run.status == 0)
        let rows = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]]
        #expect(rows?.map { "\($0["code"]!) \($0["name"]!)" }.first == "0 ok")
        #expect(rows?.count == 18)
        #expect(rows?.contains { $0["code"] as? Int == 61 && $0["name"] as? String == "unsafe-archive" } == true)
        let text = try PkgfetchCLI.run(["exit-codes"])
        #expect(text.stdout.contains("70  destination-io"))
    }

    @Test func pluginsListsTheBuiltIns() throws {
        let run = try PkgfetchCLI.run(["plugins"])
        #expect(run.status == 0)
        for line in ["cdn", "file", "https"] { #expect(run.stdout.contains(line)) }
    }

    /// The shipped command carries no example backend (Examples/TeamStore is a package of its own):
    /// not in `plugins`, not among `fetch`'s flags, not in the completions.
    @Test func theShippedCommandMentionsNoExample() throws {
        for arguments in [["plugins"], ["fetch", "--help"], ["--generate-completion-script", "bash"]] {
            let run = try PkgfetchCLI.run(arguments)
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
            #expect(!run.stdout.lowercased().contains("objstore") && !run.stdout.lowercased().contains("example object store"),
                    "\(arguments) mentions the example: \(run.stdout)")
        }
    }
}
