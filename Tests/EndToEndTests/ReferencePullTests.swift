import Foundation
import Testing
import TestSupport

/// `pkgfetch fetch|resolve|tags REFERENCE` against a real registry, artifacts pushed by the `oras` client:
/// what each `oras pull` / `oras repo tags` of the node scripts becomes.
@Suite(.offPool) struct ReferencePullTests {
    typealias E = ORASEndToEnd

    static let repository = "aks/tools/node-tool"

    private static func json(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    @Test func oneFileByTagDigestBareAndOCI() throws {
        let work = try TemporaryDirectory("e2e-ref")
        let registry = try TestRegistry()
        let file = try E.packageFile("node-tool-linux-amd64", size: 300 * 1024, seed: 21, in: work)
        let digest = try registry.pushWithORAS(file, repository: Self.repository, tag: "v1.2.3")
        let base = "\(registry.host)/\(Self.repository)"
        for (index, reference) in ["\(base):v1.2.3", "oci://\(base):v1.2.3", "\(base)@\(digest)", "oci://\(base):v1.2.3@\(digest)"].enumerated() {
            let output = work.join("out-\(index)")
            let run = try PkgfetchCLI.run(["fetch", reference, "--output", output, "--json", "--events", work.join("events-\(index).jsonl")],
                                          environment: E.environment(home: work.path))
            #expect(run.status == 0, "\(reference): \(run.stderr)")
            #expect(try Files.sha256(output) == (try Files.sha256(file)), "\(reference)")
            let result = Self.json(run.stdout)
            #expect(result?["scheme"] as? String == "oci", "\(reference)")
            #expect(result?["fileName"] as? String == "node-tool-linux-amd64", "\(reference)")
            let tasks = E.events(work.join("events-\(index).jsonl")).compactMap { $0["task"] as? String }
            #expect(tasks == ["resolve", "oci-manifest", "list", "oci-manifest", "fetch", "install"], "\(reference)")
        }
        // --dest places a file that is no archive under its title; a wrong --sha256 is refused.
        let placed = try PkgfetchCLI.run(["fetch", "\(base):v1.2.3", "--dest", work.join("dir")], environment: E.environment(home: work.path))
        #expect(placed.status == 0, "\(placed.stderr)")
        #expect(try Files.sha256(work.join("dir/node-tool-linux-amd64")) == (try Files.sha256(file)))
        let wrong = try PkgfetchCLI.run(["fetch", "\(base):v1.2.3", "--sha256", String(repeating: "0", count: 64), "--output", work.join("wrong")],
                                        environment: E.environment(home: work.path))
        #expect(wrong.status == 50, "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.join("wrong")))
    }

    @Test func oneArchiveIsUnpackedAndACachedCopyIsFoundByItsTitle() throws {
        let work = try TemporaryDirectory("e2e-ref-archive")
        let registry = try TestRegistry()
        let tree = work.join("tree")
        try FileManager.default.createDirectory(atPath: tree + "/bin", withIntermediateDirectories: true)
        try Files.writeRandom(tree + "/bin/kubelet", size: 64 * 1024, seed: 22)
        try FileManager.default.createDirectory(atPath: work.join("push"), withIntermediateDirectories: true)
        let archive = work.join("push/kubernetes-node-linux-amd64.tar.gz")
        try Processes.check(["tar", "-czf", archive, "-C", tree, "bin"])
        try registry.pushWithORAS(archive, repository: "oss/kubernetes-node", tag: "v1.34.9")
        let reference = "\(registry.host)/oss/kubernetes-node:v1.34.9"

        let unpacked = try PkgfetchCLI.run(["fetch", reference, "--dest", work.join("dest")], environment: E.environment(home: work.path))
        #expect(unpacked.status == 0, "\(unpacked.stderr)")
        #expect(try Files.sha256(work.join("dest/bin/kubelet")) == (try Files.sha256(tree + "/bin/kubelet")))
        let kept = try PkgfetchCLI.run(["fetch", reference, "--dest", work.join("kept"), "--no-unpack"], environment: E.environment(home: work.path))
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(try Files.sha256(work.join("kept/kubernetes-node-linux-amd64.tar.gz")) == (try Files.sha256(archive)))

        // A copy under the cache directory, named as the layer's title, is checked against the layer's digest and used.
        try FileManager.default.createDirectory(atPath: work.join("cache/k8s"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: archive, toPath: work.join("cache/k8s/kubernetes-node-linux-amd64.tar.gz"))
        let cached = try PkgfetchCLI.run(["fetch", reference, "--cache-dir", work.join("cache"), "--output", work.join("cached.tgz"), "--json"],
                                         environment: E.environment(home: work.path))
        #expect(cached.status == 0, "\(cached.stderr)")
        #expect(Self.json(cached.stdout)?["scheme"] as? String == "file")
        #expect(try Files.sha256(work.join("cached.tgz")) == (try Files.sha256(archive)))
    }

    @Test func threeFilesGoToDestUnderTheirTitlesAndOutputIsRefused() throws {
        let work = try TemporaryDirectory("e2e-ref-set")
        let registry = try TestRegistry(accessLog: true)
        let push = work.join("push")
        try FileManager.default.createDirectory(atPath: push, withIntermediateDirectories: true)
        let names = ["flatcar-sysext.raw", "Packages.gz", "SHA256SUMS"]
        for (index, name) in names.enumerated() { try Files.writeRandom(push + "/" + name, size: 40_000 + index * 1000, seed: 30 + UInt64(index)) }
        try registry.pushWithORAS(files: names, in: push, repository: "flatcar/sysext", tag: "v4230.2.1")
        let reference = "\(registry.host)/flatcar/sysext:v4230.2.1"

        let dest = work.join("dest")
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        try Data("kept".utf8).write(to: URL(fileURLWithPath: dest + "/other"))
        let run = try PkgfetchCLI.run(["fetch", reference, "--dest", dest, "--json", "--events", work.join("events.jsonl")],
                                      environment: E.environment(home: work.path))
        #expect(run.status == 0, "\(run.stderr)")
        for name in names { #expect(try Files.sha256(dest + "/" + name) == (try Files.sha256(push + "/" + name)), "\(name)") }
        #expect(FileManager.default.fileExists(atPath: dest + "/other"), "a merge keeps what the artifact does not hold")
        #expect(Self.json(run.stdout)?["files"] as? [String] == names && Self.json(run.stdout)?["fileName"] == nil)
        let fetches = E.events(work.join("events.jsonl")).filter { $0["task"] as? String == "fetch" }
        #expect(fetches.count == 3 && fetches.allSatisfy { $0["outcome"] as? String == "ok" })
        // The manifest is asked for once: each file reads it again by its digest, which the first answer already was.
        #expect(registry.requests.filter { $0.hasPrefix("GET ") && $0.contains("/manifests/") && $0.hasSuffix("pkgfetch/0.1") }.count == 1,
                "\(registry.requests)")
        #expect(Files.stagingDirectories(in: work.path).isEmpty)

        // The archive limits hold for a set of files, before anything is fetched.
        for (flag, value) in [("--max-entries", "2"), ("--max-unpacked-size", "100K")] {
            let limited = try PkgfetchCLI.run(["fetch", reference, "--dest", work.join("limited"), flag, value], environment: E.environment(home: work.path))
            #expect(limited.status == 61 && limited.stderr.contains(flag), "\(limited.stderr)")
            #expect(!FileManager.default.fileExists(atPath: work.join("limited")))
        }

        let output = try PkgfetchCLI.run(["fetch", reference, "--output", work.join("one")], environment: E.environment(home: work.path))
        #expect(output.status == 2, "\(output.stderr)")
        #expect(output.stderr.contains("--dest") && output.stderr.contains("3 files"))
        #expect(!FileManager.default.fileExists(atPath: work.join("one")))
    }

    @Test(arguments: ["../escape", "sub/escape"])
    func aTitleThatIsAPathIsRefusedAndNothingIsWritten(_ title: String) throws {
        let work = try TemporaryDirectory("e2e-ref-title")
        let registry = try TestRegistry()
        let push = work.join("push")
        try FileManager.default.createDirectory(atPath: push, withIntermediateDirectories: true)
        for name in ["good", "evil"] { try Files.writeRandom(push + "/" + name, size: 1000, seed: 40) }
        try registry.pushWithORAS(files: ["good", "evil"], in: push, repository: "hostile/set", tag: "v1", titles: ["evil": title])
        try registry.pushWithORAS(files: ["evil"], in: push, repository: "hostile/one", tag: "v1", titles: ["evil": title])
        for repository in ["hostile/set", "hostile/one"] {
            let dest = work.join("dest-\(repository.split(separator: "/")[1])")
            let run = try PkgfetchCLI.run(["fetch", "\(registry.host)/\(repository):v1", "--dest", dest], environment: E.environment(home: work.path))
            #expect(run.status == 61, "\(repository): \(run.stderr)")
            #expect(run.stderr.contains("layer title refused"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dest), "\(repository)")
        }
        #expect(!FileManager.default.fileExists(atPath: work.join("escape")))
    }

    @Test func tagsAcrossPagesInVersionOrderAndTheLatestMatch() throws {
        let work = try TemporaryDirectory("e2e-tags")
        let registry = try TestRegistry(accessLog: true)
        let file = try E.packageFile("sysext.raw", size: 1000, seed: 50, in: work)
        try registry.pushWithORAS(file, repository: "flatcar/sysext", tag: "v1.9.0")
        let manifest = try registry.manifest(repository: "flatcar/sysext", reference: "v1.9.0")
        let tags = ["v1.10.0", "v1.10.0-1", "v1.10.0-2", "v1.2.3", "v1.10.0-rc1", "v2.0.0-arm64", "1.0", "latest", "v1.9.10"]
        for tag in tags { try registry.putManifest(manifest.body, mediaType: manifest.mediaType, repository: "flatcar/sysext", tag: tag) }
        let all = tags + ["v1.9.0"]
        let sorted = try Processes.check(["sort", "-V"], stdin: Data((all.joined(separator: "\n") + "\n").utf8)).stdout
            .split(separator: "\n").map(String.init)

        let list = try PkgfetchCLI.run(["tags", "\(registry.host)/flatcar/sysext"], environment: E.environment(home: work.path))
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.split(separator: "\n").map(String.init) == sorted)
        // Debian's registry (2.8.2) lists every tag at once, ignoring n=; distribution 3, ACR and MCR page.
        let front = try Self.paginatingFront(over: registry)
        let paged = try PkgfetchCLI.run(["tags", "127.0.0.1:\(front.port)/flatcar/sysext", "--page-size", "3"],
                                        environment: E.environment(home: work.path))
        #expect(paged.status == 0, "\(paged.stderr)")
        #expect(paged.stdout.split(separator: "\n").map(String.init) == sorted)
        #expect(front.requests.map(\.target) == ["/v2/flatcar/sysext/tags/list?n=3", "/v2/flatcar/sysext/tags/list?last=v1.10.0&n=3",
                                                 "/v2/flatcar/sysext/tags/list?last=v1.10.0-rc1&n=3", "/v2/flatcar/sysext/tags/list?last=v1.9.10&n=3"])

        let latest = try PkgfetchCLI.run(["tags", "oci://\(registry.host)/flatcar/sysext:ignored", "--match", "^v1\\.[0-9]+\\.[0-9]+(-[0-9]+)?$",
                                          "--latest", "--json"], environment: E.environment(home: work.path))
        #expect(latest.status == 0, "\(latest.stderr)")
        #expect(Self.json(latest.stdout)?["tags"] as? [String] == ["v1.10.0-2"])
        let none = try PkgfetchCLI.run(["tags", "\(registry.host)/flatcar/sysext", "--match", "^v9", "--latest"], environment: E.environment(home: work.path))
        #expect(none.status == 32, "\(none.stderr)")
        let badRegex = try PkgfetchCLI.run(["tags", "\(registry.host)/flatcar/sysext", "--match", "(["], environment: E.environment(home: work.path))
        #expect(badRegex.status == 2, "\(badRegex.stderr)")

        // A pull-only mirror (hosts.toml) is never asked for the list; one that may resolve is, first.
        let pullOnly = try StubHTTPServer { _ in StubResponse(status: 404) }
        let hostsDir = work.join("certs.d/\(registry.host)")
        try FileManager.default.createDirectory(atPath: hostsDir, withIntermediateDirectories: true)
        try "[host.\"\(pullOnly.url)\"]\n  capabilities = [\"pull\"]\n[host.\"http://127.0.0.1:\(front.port)\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
            .write(toFile: hostsDir + "/hosts.toml", atomically: true, encoding: .utf8)
        let viaMirror = try PkgfetchCLI.run(["tags", "\(registry.host)/flatcar/sysext", "--hosts-dir", work.join("certs.d"), "--latest"],
                                            environment: E.environment(home: work.path))
        #expect(viaMirror.status == 0 && viaMirror.stdout == "v2.0.0-arm64\n", "\(viaMirror.stdout)\(viaMirror.stderr)")
        #expect(pullOnly.requests.isEmpty, "\(pullOnly.requests.map(\.target))")
        #expect(front.requests.last?.target.contains("&ns=") == true, "\(front.requests.map(\.target))")
    }

    /// The tag list in pages of `n` after `last`, lexically, each linking to the next, as distribution 3
    /// serves it (github.com/distribution/distribution, registry/handlers/tags.go): a loopback front over
    /// the real registry's full list.
    static func paginatingFront(over registry: TestRegistry) throws -> StubHTTPServer {
        let host = registry.host
        return try StubHTTPServer { request in
            guard request.method == "GET", request.path.hasSuffix("/tags/list"),
                  let body = try? Processes.check(["curl", "-sf", "http://\(host)\(request.path)"]).stdout,
                  let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any],
                  var tags = object["tags"] as? [String] else { return StubResponse(status: 404) }
            let query = Dictionary(request.query, uniquingKeysWith: { $1 })
            let n = query["n"].flatMap(Int.init) ?? tags.count
            tags = tags.sorted().filter { tag in query["last"].map { tag > $0 } ?? true }
            let page = Array(tags.prefix(n))
            var headers: [(String, String)] = []
            if tags.count > n, let last = page.last { headers.append(("Link", "<\(request.path)?last=\(last)&n=\(n)>; rel=\"next\"")) }
            return .json(["name": object["name"] ?? "", "tags": page], headers: headers)
        }
    }

    @Test func anMCRReferenceIsPulledFromTheBootstrapRegistry() throws {
        let work = try TemporaryDirectory("e2e-mcr")
        let registry = try TestRegistry(accessLog: true)
        let file = try E.packageFile("kubernetes-node-linux-amd64.tar.gz", size: 100_000, seed: 60, in: work)
        try registry.pushWithORAS(file, repository: "oss/binaries/kubernetes/kubernetes-node", tag: "v1.34.9-linux-amd64")
        let reference = "mcr.microsoft.com/oss/binaries/kubernetes/kubernetes-node:v1.34.9-linux-amd64"
        let run = try PkgfetchCLI.run(["fetch", reference, "--bootstrap-registry", registry.host, "--output", work.join("k.tgz"), "--json"],
                                      environment: E.environment(home: work.path))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("k.tgz")) == (try Files.sha256(file)))
        #expect(Self.json(run.stdout)?["reference"] as? String == "\(registry.host)/oss/binaries/kubernetes/kubernetes-node:v1.34.9-linux-amd64")
        #expect(registry.requests.contains { $0.hasPrefix("GET /v2/oss/binaries/kubernetes/kubernetes-node/blobs/") })

        let tags = try PkgfetchCLI.run(["tags", "mcr.microsoft.com/oss/binaries/kubernetes/kubernetes-node", "--bootstrap-registry", registry.host],
                                       environment: E.environment(home: work.path))
        #expect(tags.status == 0 && tags.stdout == "v1.34.9-linux-amd64\n", "\(tags.stderr)")

        // Without --bootstrap-registry: the hosts.toml AKS writes for mcr.microsoft.com (the cluster's registry, override_path).
        try FileManager.default.createDirectory(atPath: work.join("certs.d/mcr.microsoft.com"), withIntermediateDirectories: true)
        try "[host.\"http://\(registry.host)/v2\"]\n  capabilities = [\"pull\", \"resolve\"]\n  override_path = true\n"
            .write(toFile: work.join("certs.d/mcr.microsoft.com/hosts.toml"), atomically: true, encoding: .utf8)
        let viaHosts = try PkgfetchCLI.run(["fetch", reference, "--hosts-dir", work.join("certs.d"), "--output", work.join("hosts.tgz"), "--json"],
                                           environment: E.environment(home: work.path))
        #expect(viaHosts.status == 0, "\(viaHosts.stderr)")
        #expect(try Files.sha256(work.join("hosts.tgz")) == (try Files.sha256(file)))
        #expect(Self.json(viaHosts.stdout)?["reference"] as? String == reference)
    }

    @Test func resolveShowsThePlanOfEachForm() throws {
        let work = try TemporaryDirectory("e2e-ref-resolve")
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let cases: [(typed: [String], reference: String)] = [
            (["127.0.0.1:5000/aks/x:v1"], "127.0.0.1:5000/aks/x:v1"),
            (["oci://127.0.0.1:5000/aks/x:v1"], "127.0.0.1:5000/aks/x:v1"),
            (["localhost/aks/x@\(digest)"], "localhost/aks/x@\(digest)"),
            (["myacr.azurecr.io/aks/x:v1@\(digest)"], "myacr.azurecr.io/aks/x:v1@\(digest)"),
            (["alpine:3.19"], "docker.io/library/alpine:3.19"),
            (["index.docker.io/team/tool:2"], "docker.io/team/tool:2"),
            (["mcr.microsoft.com/oss/kubernetes/pause:3.6", "--bootstrap-registry", "myacr.azurecr.io/cache"],
             "myacr.azurecr.io/cache/oss/kubernetes/pause:3.6"),
        ]
        for (typed, reference) in cases {
            let run = try PkgfetchCLI.run(["resolve"] + typed + ["--json", "--no-hosts-dir"], environment: E.environment(home: work.path))
            #expect(run.status == 0, "\(typed): \(run.stderr)")
            let plan = Self.json(run.stdout)
            #expect(plan?["rule"] as? String == "reference", "\(typed)")
            #expect(plan?["reference"] as? String == reference, "\(typed)")
            #expect(plan?["fileNamedBySource"] as? Bool == true, "\(typed)")
            let sources = plan?["sources"] as? [[String: Any]]
            #expect(sources?.count == 1 && sources?.first?["scheme"] as? String == "oci" && sources?.first?["location"] as? String == reference)
        }
        let text = try PkgfetchCLI.run(["resolve", "oci://127.0.0.1:5000/aks/x:v1", "--no-hosts-dir"], environment: E.environment(home: work.path))
        #expect(text.status == 0 && text.stdout.contains("reference: 127.0.0.1:5000/aks/x:v1"), "\(text.stdout)\(text.stderr)")
        #expect(text.stdout.contains("1. oci: 127.0.0.1:5000/aks/x:v1") && text.stdout.contains("hosts: 1. http://127.0.0.1:5000/v2"))

        // A URL without its scheme, or a path, reads as neither: refused with both readings named.
        for typed in ["packages.aks.azure.com/azure-cni/v1.6.20/binaries/cni.tgz", "downloads/cni.tgz"] {
            let run = try PkgfetchCLI.run(["resolve", typed], environment: E.environment(home: work.path))
            #expect(run.status == 10, "\(typed): \(run.stderr)")
            #expect(run.stderr.contains("neither an http(s) URL") && run.stderr.contains("neither a tag nor a digest"), "\(run.stderr)")
        }
    }

    /// After the plan a reference is a registry source like any: --platform over an index, hosts.toml
    /// mirrors, and credentials (--username for the one registry the reference names, a Docker config).
    @Test func platformMirrorsAndCredentialsApplyToAReference() throws {
        let work = try TemporaryDirectory("e2e-ref-after-plan")
        let open = try TestRegistry()
        var entries: [(digest: String, size: Int, mediaType: String, platform: [String: String])] = []
        var files: [String: String] = [:]
        for (seed, arch) in [(80, "amd64"), (81, "arm64")] {
            let file = try E.packageFile("tool-\(arch)", size: 20_000, seed: UInt64(seed), in: work)
            files[arch] = file
            try open.pushWithORAS(file, repository: "aks/tool", tag: "v1-\(arch)")
            let manifest = try open.manifest(repository: "aks/tool", reference: "v1-\(arch)")
            entries.append((manifest.digest, manifest.body.count, manifest.mediaType, ["os": "linux", "architecture": arch]))
        }
        try open.putManifest(TestRegistry.index(entries), mediaType: "application/vnd.oci.image.index.v1+json", repository: "aks/tool", tag: "v1")
        let arm = try PkgfetchCLI.run(["fetch", "\(open.host)/aks/tool:v1", "--platform", "linux/arm64", "--output", work.join("arm")],
                                      environment: E.environment(home: work.path))
        #expect(arm.status == 0, "\(arm.stderr)")
        #expect(try Files.sha256(work.join("arm")) == (try Files.sha256(files["arm64"]!)))

        // A hosts.toml for a registry that is down names the open one as its mirror: the mirror serves.
        let down = "127.0.0.1:\(try Ports.free())"
        try FileManager.default.createDirectory(atPath: work.join("certs.d/\(down)"), withIntermediateDirectories: true)
        try "[host.\"http://\(open.host)\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
            .write(toFile: work.join("certs.d/\(down)/hosts.toml"), atomically: true, encoding: .utf8)
        let mirrored = try PkgfetchCLI.run(["fetch", "oci://\(down)/aks/tool:v1", "--platform", "linux/amd64", "--hosts-dir", work.join("certs.d"),
                                            "--retries", "0", "--output", work.join("mirrored"), "--json"], environment: E.environment(home: work.path))
        #expect(mirrored.status == 0, "\(mirrored.stderr)")
        #expect(try Files.sha256(work.join("mirrored")) == (try Files.sha256(files["amd64"]!)))

        // The same content behind Basic auth: --username logs in to the registry the reference names; a Docker config too.
        let secured = try TestRegistry(auth: .htpasswd(users: ["bob": "bob-pw"]), root: open.root)
        let anonymous = try PkgfetchCLI.run(["fetch", "\(secured.host)/aks/tool:v1-amd64", "--retries", "0", "--output", work.join("anon")],
                                            environment: E.environment(home: work.path))
        #expect(anonymous.status == 31, "\(anonymous.stderr)")
        let login = try PkgfetchCLI.run(["fetch", "\(secured.host)/aks/tool:v1-amd64", "--username", "bob", "--password-stdin", "--output", work.join("login")],
                                        environment: E.environment(home: work.path), stdin: Data("bob-pw\n".utf8))
        #expect(login.status == 0, "\(login.stderr)")
        #expect(try Files.sha256(work.join("login")) == (try Files.sha256(files["amd64"]!)))
        let auth = Data("bob:bob-pw".utf8).base64EncodedString()
        try #"{"auths": {"\#(secured.host)": {"auth": "\#(auth)"}}}"#.write(toFile: work.join("config.json"), atomically: true, encoding: .utf8)
        let config = try PkgfetchCLI.run(["fetch", "\(secured.host)/aks/tool:v1-amd64", "--registry-config", work.join("config.json"),
                                          "--output", work.join("config")], environment: E.environment(home: work.path))
        #expect(config.status == 0, "\(config.stderr)")
    }

    @Test func batchTakesReferencesBesideURLs() throws {
        let work = try TemporaryDirectory("e2e-ref-batch")
        let registry = try TestRegistry()
        let file = try E.packageFile("tool", size: 5000, seed: 70, in: work)
        try registry.pushWithORAS(file, repository: "aks/tool", tag: "v1")
        let list: [[String: Any]] = [["url": "oci://\(registry.host)/aks/tool:v1", "output": work.join("a")],
                                     ["url": "\(registry.host)/aks/tool:v1", "dest": work.join("b")]]
        try JSONSerialization.data(withJSONObject: list).write(to: URL(fileURLWithPath: work.join("list.json")))
        let run = try PkgfetchCLI.run(["batch", work.join("list.json")], environment: E.environment(home: work.path))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("a")) == (try Files.sha256(file)))
        #expect(try Files.sha256(work.join("b/tool")) == (try Files.sha256(file)))

        // --username logs in to one registry: with references to two, it is refused before anything is fetched.
        let two: [[String: Any]] = [["url": "\(registry.host)/aks/tool:v1", "output": work.join("c")],
                                    ["url": "other.example/aks/tool:v1", "output": work.join("d")]]
        try JSONSerialization.data(withJSONObject: two).write(to: URL(fileURLWithPath: work.join("two.json")))
        let refused = try PkgfetchCLI.run(["batch", work.join("two.json"), "--username", "u", "--password-stdin"],
                                          environment: E.environment(home: work.path), stdin: Data("pw\n".utf8))
        #expect(refused.status == 2 && refused.stderr.contains("other.example"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.join("c")))
    }
}
