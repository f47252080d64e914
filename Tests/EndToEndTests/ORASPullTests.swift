import Foundation
import Testing
import TestSupport

/// `pkgfetch fetch URL --bootstrap-registry R` against a real registry, artifacts pushed by `oras`.
@Suite(.offPool) struct ORASPullTests {
    typealias E = ORASEndToEnd

    @Test func windowsCNIZipFromTheRegistryIsByteIdentical() throws {
        let work = try TemporaryDirectory("e2e-oras")
        let registry = try TestRegistry()
        let file = try E.packageFile(seed: 1, in: work)
        try registry.pushWithORAS(file, repository: E.cniRepository, tag: "v1.6.20")

        let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--output", work.join("out/cni.zip"),
                                       "--json", "--events", work.join("events.jsonl")],
                                      environment: E.environment(home: work.path))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("out/cni.zip")) == (try Files.sha256(file)))
        let result = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(result?["scheme"] as? String == "oci")
        #expect(result?["reference"] as? String == "\(registry.host)/\(E.cniRepository):v1.6.20")
        let tasks = E.events(work.join("events.jsonl")).compactMap { $0["task"] as? String }
        #expect(tasks == ["resolve", "oci-manifest", "fetch", "install"])
    }

    @Test func pathPrefixedRegistryAndAnExplicitHTTPScheme() throws {
        let work = try TemporaryDirectory("e2e-prefix")
        let registry = try TestRegistry()
        let file = try E.packageFile(seed: 2, in: work)
        try registry.pushWithORAS(file, repository: "aks-managed-repository/\(E.cniRepository)", tag: "v1.6.20")
        for (index, value) in ["\(registry.host)/aks-managed-repository", "http://\(registry.host)/aks-managed-repository/"].enumerated() {
            let output = work.join("out-\(index).zip")
            let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", value, "--output", output],
                                          environment: E.environment(home: work.path))
            #expect(run.status == 0, "\(value): \(run.stderr)")
            #expect(try Files.sha256(output) == (try Files.sha256(file)))
        }
    }

    @Test func httpsPrefixForcesTLSAndPlainHTTPFlagOverridesIt() throws {
        let work = try TemporaryDirectory("e2e-scheme")
        let registry = try TestRegistry()   // plain HTTP on 127.0.0.1
        let file = try E.packageFile(size: 64 * 1024, seed: 8, in: work)
        try registry.pushWithORAS(file, repository: E.cniRepository, tag: "v1.6.20")
        let tls = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", "https://\(registry.host)", "--retries", "0",
                                       "--output", work.join("tls.zip")], environment: E.environment(home: work.path))
        #expect(tls.status == 30, "https:// must mean TLS even on loopback: \(tls.stderr)")
        let plain = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", "https://\(registry.host)", "--plain-http",
                                         "--output", work.join("plain.zip")], environment: E.environment(home: work.path))
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(try Files.sha256(work.join("plain.zip")) == (try Files.sha256(file)))
    }

    @Test func registryDownFallsBackToTheCDN() throws {
        let work = try TemporaryDirectory("e2e-fallback")
        let cdnRoot = work.join("cdn/azure-cni/v1.6.20/binaries")
        try FileManager.default.createDirectory(atPath: cdnRoot, withIntermediateDirectories: true)
        try Files.writeRandom(cdnRoot + "/" + E.cniFile, size: 1 << 20, seed: 3)
        let cdn = try Nginx(root: work.join("cdn"))
        let url = cdn.url("/azure-cni/v1.6.20/binaries/\(E.cniFile)")
        let down = "127.0.0.1:\(try Ports.free())"   // nothing listens there

        let run = try PkgfetchCLI.run(["fetch", url, "--bootstrap-registry", down, "--fallback-to-cdn", "--retries", "1",
                                       "--retry-delay", "50ms", "--output", work.join("out.zip"), "--events", work.join("events.jsonl"), "--json"],
                                      environment: E.environment(home: work.path))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("out.zip")) == (try Files.sha256(cdnRoot + "/" + E.cniFile)))
        let fetches = E.events(work.join("events.jsonl")).filter { $0["task"] as? String == "fetch" }
        #expect(fetches.map { $0["outcome"] as? String } == ["retry", "failed", "ok"])
        #expect(fetches.first?["error"] as? String == "oras-pull-failed")
        let result = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(result?["scheme"] as? String == "http")

        let noFallback = try PkgfetchCLI.run(["fetch", url, "--bootstrap-registry", down, "--retries", "0", "--output", work.join("none.zip")],
                                             environment: E.environment(home: work.path))
        #expect(noFallback.status == 30, "\(noFallback.stderr)")
        #expect(noFallback.stderr.hasPrefix("pkgfetch: error[oras-pull-failed]: "))
    }

    @Test func corruptedBlobInTheRegistryIsAnIntegrityMismatch() throws {
        let work = try TemporaryDirectory("e2e-corrupt")
        let registry = try TestRegistry()
        let file = try E.packageFile(size: 1 << 20, seed: 4, in: work)
        try registry.pushWithORAS(file, repository: E.cniRepository, tag: "v1.6.20")
        // Same size, other bytes: only the digest can tell.
        try Files.writeRandom(registry.blobDataPath("sha256:" + (try Files.sha256(file))), size: 1 << 20, seed: 99)

        let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--output", work.join("out/cni.zip")],
                                      environment: E.environment(home: work.path))
        #expect(run.status == 50, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("pkgfetch: error[integrity-mismatch]: "))
        #expect(!FileManager.default.fileExists(atPath: work.join("out")))
        #expect(work.listing().allSatisfy { !$0.contains(".pkgfetch-staging") })
    }

    @Test func platformIsPickedFromAnIndex() throws {
        let work = try TemporaryDirectory("e2e-index")
        let registry = try TestRegistry()
        let windows = try E.packageFile(seed: 5, in: work)
        let linux = try E.packageFile("azure-vnet-cni-linux-amd64-v1.6.20.tgz", seed: 6, in: work)
        var entries: [(digest: String, size: Int, mediaType: String, platform: [String: String])] = []
        for (path, os) in [(windows, "windows"), (linux, "linux")] {
            try registry.pushWithORAS(path, repository: E.cniRepository, tag: "v1.6.20-\(os)")
            let manifest = try registry.manifest(repository: E.cniRepository, reference: "v1.6.20-\(os)")
            entries.append((manifest.digest, manifest.body.count, manifest.mediaType, ["os": os, "architecture": "amd64"]))
        }
        try registry.putManifest(TestRegistry.index(entries), mediaType: "application/vnd.oci.image.index.v1+json",
                                 repository: E.cniRepository, tag: "v1.6.20")
        func fetch(_ extra: [String], _ output: String) throws -> ProcessOutput {
            try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--output", work.join(output)] + extra,
                                environment: E.environment(home: work.path))
        }
        // The URL says windows-amd64: the windows entry.
        let fromURL = try fetch([], "windows.zip")
        #expect(fromURL.status == 0, "\(fromURL.stderr)")
        #expect(try Files.sha256(work.join("windows.zip")) == (try Files.sha256(windows)))
        // --platform wins over the URL; that manifest's only titled layer is taken under its own name.
        let forced = try fetch(["--platform", "linux/amd64"], "linux.tgz")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try Files.sha256(work.join("linux.tgz")) == (try Files.sha256(linux)))
        let none = try fetch(["--platform", "linux/arm64"], "arm.zip")
        #expect(none.status == 33, "\(none.stderr)")
        #expect(none.stderr.contains("no manifest for linux/arm64; it offers windows/amd64, linux/amd64"))
    }

    @Test func unknownTagIsArtifactNotFoundAndNotRetried() throws {
        let work = try TemporaryDirectory("e2e-404")
        let registry = try TestRegistry()
        let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--output", work.join("x.zip"),
                                       "--events", work.join("events.jsonl")],
                                      environment: E.environment(home: work.path))
        #expect(run.status == 32, "\(run.stderr)")
        #expect(run.stderr.contains("v1.6.20"))
        let fetches = E.events(work.join("events.jsonl")).filter { $0["task"] as? String == "fetch" }
        #expect(fetches.count == 1)
        #expect(fetches.first?["outcome"] as? String == "failed")
    }

    /// pkgfetch talks to the registry itself: fake `oras`, `curl`, `skopeo` and `docker` on PATH
    /// would leave a mark if it ever ran them.
    @Test func neverShellsOutToOtherTools() throws {
        let work = try TemporaryDirectory("e2e-no-shell")
        let registry = try TestRegistry()
        let file = try E.packageFile(seed: 7, in: work)
        try registry.pushWithORAS(file, repository: E.cniRepository, tag: "v1.6.20")
        let bin = work.join("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for tool in ["oras", "curl", "skopeo", "docker", "wget"] {
            try "#!/bin/sh\ntouch \(work.join("ran-\(tool)"))\nexit 1\n".write(toFile: "\(bin)/\(tool)", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(bin)/\(tool)")
        }
        let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--output", work.join("out.zip")],
                                      environment: E.environment(home: work.path, path: "\(bin):/usr/bin:/bin"))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(work.listing().filter { $0.hasPrefix("ran-") }.isEmpty)
    }
}
