import Foundation
import Testing
import TestSupport

/// `pkgfetch batch LIST`: many packages in one process, against real nginx and a real registry.
@Suite(.offPool) struct BatchTests {
    typealias E = ORASEndToEnd

    func writeList(_ entries: [[String: Any]], to path: String) throws {
        try JSONSerialization.data(withJSONObject: entries).write(to: URL(fileURLWithPath: path))
    }

    func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    @Test func cdnPackagesLandOverOneConnection() throws {
        let work = try TemporaryDirectory("e2e-batch-cdn")
        let cdn = try Nginx(root: work.join("cdn"))
        var entries: [[String: Any]] = []
        var expected: [String: String] = [:]
        for version in 1...4 {
            let path = "/azure-cni/v1.0.\(version)/binaries/azure-vnet-cni-linux-amd64-v1.0.\(version).zip"
            try FileManager.default.createDirectory(atPath: (cdn.file(path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Files.writeRandom(cdn.file(path), size: 300_000 + version, seed: UInt64(version))
            let output = work.join("out/\(version).zip")
            expected[output] = try Files.sha256(cdn.file(path))
            entries.append(["url": cdn.url(path), "output": output, "sha256": expected[output]!])
        }
        // A real tar.gz, unpacked into a directory.
        let tree = work.join("tree")
        try FileManager.default.createDirectory(atPath: tree + "/bin", withIntermediateDirectories: true)
        try Files.writeRandom(tree + "/bin/kubelet", size: 100_000, seed: 9)
        let tarball = "/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz"
        try FileManager.default.createDirectory(atPath: (cdn.file(tarball) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = try Processes.check(["tar", "-czf", cdn.file(tarball), "-C", tree, "bin"])
        entries.append(["url": cdn.url(tarball), "dest": work.join("node")])
        try writeList(entries, to: work.join("list.json"))

        let run = try PkgfetchCLI.run(["batch", work.join("list.json"), "--parallel", "1", "--json", "--events", work.join("events.jsonl")],
                                      environment: LoopbackCLI.environment())
        #expect(run.status == 0, "\(run.stderr)")
        for (output, digest) in expected { #expect(try Files.sha256(output) == digest) }
        #expect(try Files.sha256(work.join("node/bin/kubelet")) == (try Files.sha256(tree + "/bin/kubelet")))
        let results = jsonLines(run.stdout)
        #expect(results.compactMap { $0["index"] as? Int }.sorted() == [1, 2, 3, 4, 5])
        #expect(results.allSatisfy { $0["outcome"] as? String == "ok" })
        // One process, one pooled connection: every request on nginx's first connection.
        let connections = Set(cdn.accessLog.compactMap { $0.split(separator: " ").last })
        #expect(connections.count == 1, "\(cdn.accessLog)")
        #expect(cdn.accessLog.count == 5)
        // Each package is its own operation in the events.
        let operations = Set(E.events(work.join("events.jsonl")).compactMap { $0["operationId"] as? String })
        #expect(operations.count == 5)
    }

    @Test func everyPackageIsTriedAndTheFirstFailureSetsTheExitCode() throws {
        let work = try TemporaryDirectory("e2e-batch-fail")
        let registry = try TestRegistry()
        var files: [String] = []
        for version in [1, 2, 3] {
            let name = "azure-vnet-cni-windows-amd64-v1.0.\(version).zip"
            let file = try E.packageFile(name, size: 200_000, seed: UInt64(version), in: work)
            try registry.pushWithORAS(file, repository: E.cniRepository, tag: "v1.0.\(version)")
            files.append(file)
        }
        func url(_ version: Int) -> String {
            "https://packages.aks.azure.com/azure-cni/v1.0.\(version)/binaries/azure-vnet-cni-windows-amd64-v1.0.\(version).zip"
        }
        try writeList([
            ["url": url(1), "output": work.join("out/1.zip")],
            ["url": url(2), "output": work.join("out/2.zip"), "sha256": String(repeating: "0", count: 64)],
            ["url": url(3), "output": work.join("out/3.zip"), "sha256": try Files.sha256(files[2])],
            ["url": url(4), "output": work.join("out/4.zip")],
        ], to: work.join("list.json"))

        let run = try PkgfetchCLI.run(["batch", work.join("list.json"), "--bootstrap-registry", registry.host, "--retries", "0"],
                                      environment: E.environment(home: work.path))
        #expect(run.status == 50, "the first failure in list order is package 2's digest: \(run.stderr)")
        #expect(try Files.sha256(work.join("out/1.zip")) == (try Files.sha256(files[0])))
        #expect(try Files.sha256(work.join("out/3.zip")) == (try Files.sha256(files[2])))
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.join("out")).sorted() == ["1.zip", "3.zip"])
        let lines = run.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("pkgfetch: error[integrity-mismatch]: package 2 (") })
        #expect(lines.contains { $0.hasPrefix("pkgfetch: error[artifact-not-found]: package 4 (") })
        #expect(lines.last?.hasPrefix("pkgfetch: error[integrity-mismatch]: 2 of 4 packages failed; the first, package 2") == true, "\(lines)")
        #expect(run.stdout.split(separator: "\n").filter { $0.hasPrefix("installed ") }.count == 2)
    }

    @Test func packagesOfOneRepositoryShareOneToken() throws {
        let work = try TemporaryDirectory("e2e-batch-token")
        let seed = try TestRegistry()
        let repository = "oss/binaries/kubernetes/kubernetes-node"
        var entries: [[String: Any]] = []
        for version in ["v1.33.7", "v1.32.1"] {
            let file = try E.packageFile("kubernetes-node-linux-amd64.tar.gz", size: 100_000, seed: UInt64(version.count + entries.count), in: work)
            try seed.pushWithORAS(file, repository: repository, tag: "\(version)-linux-amd64")
            entries.append(["url": "https://packages.aks.azure.com/kubernetes/\(version)/binaries/kubernetes-node-linux-amd64.tar.gz",
                            "output": work.join("out/\(version).tar.gz"), "sha256": try Files.sha256(file)])
        }
        try writeList(entries, to: work.join("list.json"))
        let issuer = try TokenServer(users: ["alice": "alice-pw"])
        let registry = try TestRegistry(auth: .token(issuer), root: seed.root)
        let run = try PkgfetchCLI.run(["batch", work.join("list.json"), "--parallel", "1", "--bootstrap-registry", registry.host,
                                       "--username", "alice", "--password-stdin"],
                                      environment: E.environment(home: work.path), stdin: Data("alice-pw".utf8))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(issuer.requests.count == 1, "one token for the repository, reused: \(issuer.requests)")
        #expect(issuer.requests.first?.scopes == ["repository:\(repository):pull"])
    }

    @Test func aMalformedListIsAUsageErrorNamingTheEntry() throws {
        let work = try TemporaryDirectory("e2e-batch-list")
        let cases: [(String, String)] = [
            (#"[{"url": "https://x/a.zip", "output": "a"}, {"url": "https://x/b.zip", "ouptut": "b"}]"#, #"entry 2: unknown field "ouptut""#),
            (#"[{"url": "https://x/a.zip", "dest": "d", "replace": 1}]"#, #"entry 1: "replace" must be true or false"#),
            (#"[{"url": "https://x/a.zip"}]"#, #"entry 1: give "dest""#),
            (#"[{"url": "https://x/a.zip", "output": "a", "sha256": "abc"}]"#, #"entry 1: "sha256" is not a SHA-256"#),
            (#"[{"url": "https://x/a.zip", "output": "a"}, {"url": "https://x/b.zip", "output": "./a"}]"#, "packages 1 and 2 both install to"),
            (#"[{"url": "https://x/a.zip", "output": "x/tool"}, {"url": "https://x/b.zip", "dest": "x", "replace": true}]"#,
             "packages 1 and 2: \(FileManager.default.currentDirectoryPath)/x/tool is inside \(FileManager.default.currentDirectoryPath)/x"),
            (#"{"url": "https://x/a.zip"}"#, "not a JSON array"),
            ("[]", "the batch list is empty"),
        ]
        for (list, message) in cases {
            try Data(list.utf8).write(to: URL(fileURLWithPath: work.join("list.json")))
            let run = try PkgfetchCLI.run(["batch", work.join("list.json")], environment: LoopbackCLI.environment())
            #expect(run.status == 2, "\(list): \(run.stderr)")
            #expect(run.stderr.contains(message), "\(list): \(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1, "one line: \(run.stderr)")
        }
        let missing = try PkgfetchCLI.run(["batch", work.join("absent.json")], environment: LoopbackCLI.environment())
        #expect(missing.status == 2 && missing.stderr.contains("cannot read the batch list"), "\(missing.stderr)")
    }

    @Test func theListCanComeFromStandardInputAndTheCache() throws {
        let work = try TemporaryDirectory("e2e-batch-stdin")
        let cached = work.join("cache/azure-vnet-cni-linux-amd64-v1.6.20.tgz")
        try FileManager.default.createDirectory(atPath: work.join("cache"), withIntermediateDirectories: true)
        try Files.writeRandom(cached, size: 50_000, seed: 4)
        let list = #"[{"url": "https://packages.invalid/azure-cni/v1.6.20/binaries/azure-vnet-cni-linux-amd64-v1.6.20.tgz", "#
            + #""output": "\#(work.join("out/cni.tgz"))", "sha256": "\#(try Files.sha256(cached))"}]"#
        let run = try PkgfetchCLI.run(["batch", "-", "--cache-dir", work.join("cache")], environment: LoopbackCLI.environment(),
                                      stdin: Data(list.utf8))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("out/cni.tgz")) == (try Files.sha256(cached)))
        let both = try PkgfetchCLI.run(["batch", "-", "--username", "u", "--password-stdin"], environment: LoopbackCLI.environment(),
                                       stdin: Data(list.utf8))
        #expect(both.status == 2 && both.stderr.contains("standard input"), "\(both.stderr)")
    }
}
