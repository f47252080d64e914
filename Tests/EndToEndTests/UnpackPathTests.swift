import Foundation
import Testing
import TestSupport

/// `--dest` end to end: packages unpack from the cache, the CDN and the registry, and a hostile or
/// broken archive leaves the destination exactly as it was.
@Suite(.offPool) struct UnpackPathTests {
    static let kubernetesPath = "/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz"
    static let cniPath = "/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip"

    /// A kubelet-like tar.gz with an executable and a zip of CNI plugins, built with bsdtar.
    static func makePackages(in work: TemporaryDirectory) throws -> (tgz: String, zip: String) {
        let tree = work.join("tree")
        try FileManager.default.createDirectory(atPath: tree + "/kubernetes/node/bin", withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho kubelet-runs\n".utf8).write(to: URL(fileURLWithPath: tree + "/kubernetes/node/bin/kubelet"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tree + "/kubernetes/node/bin/kubelet")
        try FileManager.default.createDirectory(atPath: work.join("cni"), withIntermediateDirectories: true)
        try Data("MZ-azure-vnet".utf8).write(to: URL(fileURLWithPath: work.join("cni/azure-vnet.exe")))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: work.join("cni/10-azure.conflist")))
        let tgz = work.join("packages/kubernetes-node-linux-amd64.tar.gz")
        let zip = work.join("packages/azure-vnet-cni-windows-amd64-v1.6.20.zip")
        try FileManager.default.createDirectory(atPath: work.join("packages"), withIntermediateDirectories: true)
        try Processes.check(["bsdtar", "-czf", tgz, "-C", tree, "kubernetes"])
        try Processes.check(["bsdtar", "--format", "zip", "-cf", zip, "-C", work.join("cni"), "azure-vnet.exe", "10-azure.conflist"])
        return (tgz, zip)
    }

    @Test func tarGzFromTheCacheUnpacksAndTheBinaryRuns() throws {
        let work = try TemporaryDirectory("unpack-cache")
        _ = try Self.makePackages(in: work)
        let run = try PkgfetchCLI.run(["fetch", "https://packages.invalid" + Self.kubernetesPath, "--cache-dir", work.join("packages"),
                                       "--dest", work.join("node"), "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let kubelet = try Processes.run([work.join("node/kubernetes/node/bin/kubelet")])
        #expect(kubelet.stdout == "kubelet-runs\n")
        let result = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(result?["entries"] as? Int ?? 0 >= 4)
    }

    @Test func zipFromTheCDNMergesIntoAnExistingDirectory() throws {
        let work = try TemporaryDirectory("unpack-http")
        let (_, zip) = try Self.makePackages(in: work)
        let cdn = try Nginx(root: work.join("cdn"))
        try FileManager.default.createDirectory(atPath: cdn.file("/azure-cni/v1.6.20/binaries"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: zip, toPath: cdn.file(Self.cniPath))
        try FileManager.default.createDirectory(atPath: work.join("opt/cni/bin"), withIntermediateDirectories: true)
        try Data("reference-plugin".utf8).write(to: URL(fileURLWithPath: work.join("opt/cni/bin/bridge")))
        try Data("old".utf8).write(to: URL(fileURLWithPath: work.join("opt/cni/bin/azure-vnet.exe")))

        let run = try PkgfetchCLI.run(["fetch", cdn.url(Self.cniPath), "--sha256", try Files.sha256(zip), "--dest", work.join("opt/cni/bin")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOfFile: work.join("opt/cni/bin/azure-vnet.exe"), encoding: .utf8) == "MZ-azure-vnet")
        #expect(try String(contentsOfFile: work.join("opt/cni/bin/bridge"), encoding: .utf8) == "reference-plugin")
        #expect(FileManager.default.fileExists(atPath: work.join("opt/cni/bin/10-azure.conflist")))

        let replaced = try PkgfetchCLI.run(["fetch", cdn.url(Self.cniPath), "--dest", work.join("opt/cni/bin"), "--replace"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.join("opt/cni/bin")).sorted() == ["10-azure.conflist", "azure-vnet.exe"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.join("opt/cni")) == ["bin"], "no staging debris")
    }

    @Test func zipFromTheRegistryUnpacks() throws {
        let work = try TemporaryDirectory("unpack-oras")
        let (_, zip) = try Self.makePackages(in: work)
        let registry = try TestRegistry()
        _ = try registry.pushWithORAS(zip, repository: "aks/packages/azure/azure-vnet-cni", tag: "v1.6.20")
        let run = try PkgfetchCLI.run(["fetch", "https://packages.aks.azure.com" + Self.cniPath, "--bootstrap-registry", registry.host,
                                       "--dest", work.join("c-k")], environment: ["HOME": work.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? ""])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOfFile: work.join("c-k/azure-vnet.exe"), encoding: .utf8) == "MZ-azure-vnet")
    }

    @Test func hostileArchiveExits61AndLeavesTheDestinationAsItWas() throws {
        let work = try TemporaryDirectory("unpack-hostile")
        try FileManager.default.createDirectory(atPath: work.join("packages"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work.join("dest/bin"), withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: work.join("dest/bin/kubelet")))
        let archive = work.join("packages/kubernetes-node-linux-amd64.tar.gz")
        try Processes.check(["python3", "-c", """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1], "w:gz") as t:
                for name, data in [("bin/kubelet", b"new"), ("../../escaped", b"evil")]:
                    info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
            """, archive])
        for mode in ["--merge", "--replace"] {
            let run = try PkgfetchCLI.run(["fetch", "https://packages.invalid" + Self.kubernetesPath, "--cache-dir", work.join("packages"),
                                           "--dest", work.join("dest"), mode])
            #expect(run.status == 61, "\(mode): \(run.stderr)")
            #expect(run.stderr.contains("error[unsafe-archive]"))
            #expect(run.stderr.contains("../../escaped"))
            #expect(try String(contentsOfFile: work.join("dest/bin/kubelet"), encoding: .utf8) == "old")
            #expect(work.listing() == ["dest", "dest/bin", "dest/bin/kubelet", "packages", "packages/kubernetes-node-linux-amd64.tar.gz"])
            #expect(!FileManager.default.fileExists(atPath: (work.path as NSString).deletingLastPathComponent + "/escaped"))
        }
    }

    @Test func notAnArchiveExits60() throws {
        let work = try TemporaryDirectory("unpack-bad")
        try FileManager.default.createDirectory(atPath: work.join("packages"), withIntermediateDirectories: true)
        try Data("<html>404 page from a captive portal</html>".utf8).write(to: URL(fileURLWithPath: work.join("packages/azure-vnet-cni-windows-amd64-v1.6.20.zip")))
        let run = try PkgfetchCLI.run(["fetch", "https://packages.invalid" + Self.cniPath, "--cache-dir", work.join("packages"), "--dest", work.join("dest")])
        #expect(run.status == 60, "\(run.stderr)")
        #expect(run.stderr.contains("error[unpack-failed]"))
        #expect(!FileManager.default.fileExists(atPath: work.join("dest")))
        // --no-unpack places it as it is.
        let placed = try PkgfetchCLI.run(["fetch", "https://packages.invalid" + Self.cniPath, "--cache-dir", work.join("packages"),
                                          "--dest", work.join("dest"), "--no-unpack"])
        #expect(placed.status == 0, "\(placed.stderr)")
        #expect(FileManager.default.fileExists(atPath: work.join("dest/azure-vnet-cni-windows-amd64-v1.6.20.zip")))
    }
}
