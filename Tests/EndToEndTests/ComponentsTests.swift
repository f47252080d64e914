import Foundation
import Testing
import TestSupport

/// `pkgfetch components FILE`: a components.json written for these tests (AgentBaker's schema, made-up
/// packages), its https entries served by real nginx.
@Suite(.offPool) struct ComponentsTests {
    /// Serves each package file at the path its template expands to, and writes the components file.
    struct Setup {
        let work: TemporaryDirectory
        let cdn: Nginx
        let file: String
        let root: String

        init(_ label: String) throws {
            work = try TemporaryDirectory(label)
            cdn = try Nginx(root: work.join("cdn"))
            file = work.join("components.json")
            root = work.join("image")
            let base = cdn.url("")
            let json = """
            {"Packages": [
              {"name": "cni-plugins", "downloadLocation": "/opt/cni/downloads",
               "downloadURIs": {"default": {"current": {
                 "versionsV2": [{"latestVersion": "1.6.2"}, {"latestVersion": "1.10.0"}],
                 "downloadURL": "\(base)/cni/v${version}/cni-plugins-linux-${CPU_ARCH}-v${version}.tgz"}}}},
              {"name": "kubelet", "downloadLocation": "/opt/kubelet/downloads", "windowsDownloadLocation": "c:\\\\cache\\\\kubelet\\\\",
               "downloadURIs": {
                 "ubuntu": {"r2204": {
                   "versionsV2": [
                     {"k8sVersion": "1.33", "latestVersion": "1.33.4-ubuntu22.04u1", "previousLatestVersion": "1.33.3-ubuntu22.04u2"},
                     {"k8sVersion": "1.34", "latestVersion": "1.34.10-ubuntu22.04u1"}],
                   "downloadURL": "\(base)/kubelet/${version}/kubelet-linux-${CPU_ARCH}.tar.gz"}},
                 "windows": {"ws2022": {
                   "versionsV2": [{"k8sVersion": "1.34", "latestVersion": "1.34.10"}],
                   "windowsDownloadURL": "\(base)/kubelet/v$version/kubelet-windows-$CPU_ARCH.zip"}}}},
              {"name": "crictl", "downloadLocation": "/opt/crictl/downloads",
               "downloadURIs": {"ubuntu": {"r2204": {"versionsV2": [{"latestVersion": "<SKIP>"}],
                 "downloadURL": "\(base)/crictl/${version}.tgz"}}}},
              {"name": "mariner-only", "downloadLocation": "/opt/m",
               "downloadURIs": {"mariner": {"current": {"versionsV2": [{"latestVersion": "1.0"}], "downloadURL": "\(base)/m/${version}.tgz"}}}},
              {"name": "shell-template", "downloadLocation": "/opt/s",
               "downloadURIs": {"default": {"current": {"versionsV2": [{"latestVersion": "1.0"}],
                 "downloadURL": "\(base)/s/$(uname -m)-${version}.tgz"}}}}
            ]}
            """
            try Data(json.utf8).write(to: URL(fileURLWithPath: file))
            for path in ["/cni/v1.6.2/cni-plugins-linux-amd64-v1.6.2.tgz", "/cni/v1.10.0/cni-plugins-linux-amd64-v1.10.0.tgz",
                         "/kubelet/1.33.4-ubuntu22.04u1/kubelet-linux-amd64.tar.gz", "/kubelet/1.33.3-ubuntu22.04u2/kubelet-linux-amd64.tar.gz",
                         "/kubelet/1.34.10-ubuntu22.04u1/kubelet-linux-amd64.tar.gz", "/kubelet/v1.34.10/kubelet-windows-amd64.zip"] {
                try FileManager.default.createDirectory(atPath: (cdn.file(path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Files.writeRandom(cdn.file(path), size: 50_000 + path.utf8.count, seed: UInt64(path.utf8.count))
            }
        }

        func run(_ arguments: [String]) throws -> ProcessOutput {
            try PkgfetchCLI.run(["components", file] + arguments, environment: LoopbackCLI.environment())
        }

        func served(_ path: String) throws -> String { try Files.sha256(cdn.file(path)) }

        func gets() -> [String] { cdn.accessLog.filter { $0.contains("GET ") } }
    }

    func jsonLines(_ text: String) -> [String: [String: Any]] {
        var byPackage: [String: [String: Any]] = [:]
        for line in text.split(separator: "\n") {
            if let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any], let name = object["package"] as? String {
                byPackage[name] = object
            }
        }
        return byPackage
    }

    @Test func imageBuildSavesEveryVersionAndFailsOnlyTheRefusedTemplate() throws {
        let setup = try Setup("e2e-components-all")
        let run = try setup.run(["--os", "ubuntu", "--release", "22.04", "--all-versions", "--root", setup.root, "--json", "--retries", "0",
                                 "--events", setup.work.join("events.jsonl")])
        // The refused template fails its package alone; the exit code says so.
        #expect(run.status == 10, "\(run.stderr)")
        #expect(run.stderr.contains("shell-template"), "\(run.stderr)")
        #expect(run.stderr.contains("$(uname -m)"), "\(run.stderr)")
        let cni = setup.root + "/opt/cni/downloads/"
        #expect(try Files.sha256(cni + "cni-plugins-linux-amd64-v1.6.2.tgz") == (try setup.served("/cni/v1.6.2/cni-plugins-linux-amd64-v1.6.2.tgz")))
        #expect(try Files.sha256(cni + "cni-plugins-linux-amd64-v1.10.0.tgz") == (try setup.served("/cni/v1.10.0/cni-plugins-linux-amd64-v1.10.0.tgz")))
        // Three versions of one file name: a directory each, none over another.
        for version in ["1.33.4-ubuntu22.04u1", "1.33.3-ubuntu22.04u2", "1.34.10-ubuntu22.04u1"] {
            #expect(try Files.sha256(setup.root + "/opt/kubelet/downloads/\(version)/kubelet-linux-amd64.tar.gz")
                    == (try setup.served("/kubelet/\(version)/kubelet-linux-amd64.tar.gz")))
        }
        let outcomes = jsonLines(run.stdout)
        #expect(outcomes["cni-plugins"]?["outcome"] as? String == "fetched")
        #expect(outcomes["kubelet"]?["outcome"] as? String == "fetched")
        #expect(outcomes["crictl"]?["outcome"] as? String == "skipped")
        #expect(outcomes["mariner-only"]?["outcome"] as? String == "skipped")
        #expect(outcomes["shell-template"]?["outcome"] as? String == "failed")
        #expect(!FileManager.default.fileExists(atPath: setup.root + "/opt/s"))
        #expect(!FileManager.default.fileExists(atPath: setup.root + "/opt/crictl"))
        #expect(setup.gets().count == 5, "\(setup.cdn.accessLog)")
        // The refusal is an event as a failed fetch is, for the guest agent's telemetry.
        let failed = ORASEndToEnd.events(setup.work.join("events.jsonl")).filter { $0["task"] as? String == "fetch-package" && $0["outcome"] as? String == "failed" }
        #expect(failed.map { $0["package"] as? String } == ["shell-template"], "\(failed)")
        #expect(failed.first?["exitCode"] as? Int == 10)

        // Again: everything is already there and checked as a cached copy, nothing is downloaded.
        let again = try setup.run(["--os", "ubuntu", "--release", "22.04", "--all-versions", "--root", setup.root, "--json",
                                   "--only", "cni-plugins", "--only", "kubelet"])
        #expect(again.status == 0, "\(again.stderr)")
        let second = jsonLines(again.stdout)
        #expect(second["cni-plugins"]?["outcome"] as? String == "present", "\(again.stdout)")
        #expect(second["kubelet"]?["outcome"] as? String == "present", "\(again.stdout)")
        #expect(setup.gets().count == 5, "\(setup.cdn.accessLog)")
    }

    @Test func kubernetesMinorPicksOneVersionIntoTheLocationItself() throws {
        let setup = try Setup("e2e-components-k8s")
        let run = try setup.run(["--os", "ubuntu", "--release", "22.04", "--k8s", "v1.33", "--root", setup.root, "--only", "kubelet"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(setup.root + "/opt/kubelet/downloads/kubelet-linux-amd64.tar.gz")
                == (try setup.served("/kubelet/1.33.4-ubuntu22.04u1/kubelet-linux-amd64.tar.gz")))
        #expect(run.stdout.contains("fetched kubelet 1.33.4-ubuntu22.04u1"), "\(run.stdout)")
        #expect(setup.gets().count == 1, "\(setup.cdn.accessLog)")
    }

    @Test func aRelativeRootFindsWhatIsAlreadyInPlace() throws {
        let setup = try Setup("e2e-components-relative")
        let arguments = [try PkgfetchCLI.path, "components", setup.file, "--os", "ubuntu", "--release", "22.04", "--only", "cni-plugins",
                         "--root", "image", "--json"]
        let first = try Processes.run(arguments, environment: LoopbackCLI.environment(), currentDirectory: setup.work.path)
        #expect(first.status == 0, "\(first.stderr)")
        let again = try Processes.run(arguments, environment: LoopbackCLI.environment(), currentDirectory: setup.work.path)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(jsonLines(again.stdout)["cni-plugins"]?["outcome"] as? String == "present", "\(again.stdout)")
        #expect(setup.gets().count == 1, "\(setup.cdn.accessLog)")
    }

    @Test func windowsEntriesGoUnderTheRootAsTheirWindowsLocation() throws {
        let setup = try Setup("e2e-components-windows")
        let run = try setup.run(["--os", "windows", "--release", "ws2022", "--root", setup.root])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(setup.root + "/cache/kubelet/kubelet-windows-amd64.zip")
                == (try setup.served("/kubelet/v1.34.10/kubelet-windows-amd64.zip")))
        #expect(run.stdout.contains("skipped cni-plugins: no windowsDownloadURL (installed by the OS package manager)"), "\(run.stdout)")
        #expect(run.stdout.contains("skipped crictl: no entry for windows ws2022"), "\(run.stdout)")
    }

    @Test func dryRunPrintsThePlanAndFetchesNothing() throws {
        let setup = try Setup("e2e-components-plan")
        let run = try setup.run(["--os", "ubuntu", "--release", "22.04", "--dry-run", "--root", setup.root])
        #expect(run.status == 10, "the refused template is reported: \(run.stderr)")
        #expect(run.stdout.contains("plan kubelet 1.34.10-ubuntu22.04u1 "), "\(run.stdout)")
        #expect(run.stdout.contains("skipped crictl: <SKIP>"), "\(run.stdout)")
        #expect(run.stdout.contains("failed shell-template: error[resolve-failed] refused:"), "\(run.stdout)")
        #expect(setup.gets().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: setup.root))
    }

    @Test func aMissingOrOversizedFileOrUnknownOSIsAUsageError() throws {
        let work = try TemporaryDirectory("e2e-components-bad")
        let missing = try PkgfetchCLI.run(["components", work.join("none.json"), "--os", "ubuntu", "--release", "22.04"],
                                          environment: LoopbackCLI.environment())
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot read the components file"), "\(missing.stderr)")
        try Files.writeRandom(work.join("big.json"), size: (16 << 20) + 1)
        let big = try PkgfetchCLI.run(["components", work.join("big.json"), "--os", "ubuntu", "--release", "22.04"],
                                      environment: LoopbackCLI.environment())
        #expect(big.status == 2)
        #expect(big.stderr.contains("larger than"), "\(big.stderr)")
        let typo = try PkgfetchCLI.run(["components", work.join("none.json"), "--os", "ubunto", "--release", "22.04"],
                                       environment: LoopbackCLI.environment())
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("--os ubunto is not one of"), "\(typo.stderr)")
    }

    /// Reference entries (#21): a flatcar sysext by `${SYSTEMD_ARCH}`, every version into a directory of
    /// its own (the layer's title is the same for each), and an MCR reference pulled from the bootstrap
    /// registry under the same path.
    @Test func referenceEntriesArePulledFromTheRegistry() throws {
        let work = try TemporaryDirectory("e2e-components-refs")
        let registry = try TestRegistry(accessLog: true)
        var pushed: [String: String] = [:]
        for (index, version) in ["v1.33.4-1", "v1.34.10-1"].enumerated() {
            let file = try ORASEndToEnd.packageFile("kubelet.raw", size: 60_000 + index, seed: 40 + UInt64(index), in: work)
            try registry.pushWithORAS(file, repository: "oss/kubelet-sysext", tag: "\(version)-x86-64")
            pushed[version] = try Files.sha256(file)
        }
        let provider = try ORASEndToEnd.packageFile("azure-acr-credential-provider", size: 30_000, seed: 50, in: work)
        try registry.pushWithORAS(provider, repository: "oss/binaries/kubernetes/azure-acr-credential-provider", tag: "v1.33.7-linux-amd64")
        let json = """
        {"Packages": [
          {"name": "kubelet", "downloadLocation": "/opt/kubelet/downloads",
           "downloadURIs": {"flatcar": {"current": {
             "versionsV2": [{"k8sVersion": "1.33", "latestVersion": "v1.33.4-1"}, {"k8sVersion": "1.34", "latestVersion": "v1.34.10-1"}],
             "downloadURL": "\(registry.host)/oss/kubelet-sysext:${version}-${SYSTEMD_ARCH}"}}}},
          {"name": "azure-acr-credential-provider", "downloadLocation": "/opt/credentialprovider/downloads",
           "downloadURIs": {"default": {"current": {
             "versionsV2": [{"k8sVersion": "1.33", "latestVersion": "v1.33.7"}],
             "downloadURL": "mcr.microsoft.com/oss/binaries/kubernetes/azure-acr-credential-provider:${version}-linux-${CPU_ARCH}"}}}}
        ]}
        """
        try Data(json.utf8).write(to: URL(fileURLWithPath: work.join("components.json")))
        let root = work.join("image")
        let arguments = ["components", work.join("components.json"), "--os", "flatcar", "--release", "4230.2", "--all-versions",
                         "--bootstrap-registry", registry.host, "--root", root, "--json"]
        let run = try PkgfetchCLI.run(arguments, environment: ORASEndToEnd.environment(home: work.path))
        #expect(run.status == 0, "\(run.stderr)")
        for (version, digest) in pushed {
            #expect(try Files.sha256(root + "/opt/kubelet/downloads/\(version)/kubelet.raw") == digest)
        }
        #expect(try Files.sha256(root + "/opt/credentialprovider/downloads/azure-acr-credential-provider") == (try Files.sha256(provider)))
        #expect(jsonLines(run.stdout).values.allSatisfy { $0["outcome"] as? String == "fetched" }, "\(run.stdout)")

        // Again: each copy in place is checked against its layer's digest, and no blob is pulled.
        let blobs = registry.requests.filter { $0.contains("/blobs/") }.count
        let again = try PkgfetchCLI.run(arguments, environment: ORASEndToEnd.environment(home: work.path))
        #expect(again.status == 0, "\(again.stderr)")
        #expect(jsonLines(again.stdout).values.allSatisfy { $0["outcome"] as? String == "present" }, "\(again.stdout)")
        #expect(registry.requests.filter { $0.contains("/blobs/") }.count == blobs)
    }
}
