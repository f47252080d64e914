import Foundation
import Testing
import TestSupport

/// What a pre-cached copy must show before it is installed: a digest to match (`--sha256`, or the
/// layer's digest from the registry's manifest), or, with none, an owner and modes no other user
/// could have used to put it there (ssh's StrictModes rule). Tests run as root; uid 65534 plays the
/// other user.
@Suite struct CacheTrustTests {
    typealias E = ORASEndToEnd

    /// A registry is configured and answers: the cached copy is checked against the layer's digest
    /// (one manifest request, no blob). A tampered copy is refused and the registry's bytes installed;
    /// a matching one is used as it is.
    @Test func theRegistrysLayerDigestChecksTheCachedCopy() throws {
        let work = try TemporaryDirectory("cache-registry")
        let registry = try TestRegistry()
        let genuine = try E.packageFile(size: 256 * 1024, seed: 41, in: work)
        try registry.pushWithORAS(genuine, repository: E.cniRepository, tag: "v1.6.20")
        try FileManager.default.createDirectory(atPath: work.join("cache"), withIntermediateDirectories: true)
        try Files.writeRandom(work.join("cache/\(E.cniFile)"), size: 256 * 1024, seed: 42)   // same name, other bytes

        // Installs to out/NAME.zip; returns the source scheme used and the events' tasks and outcomes.
        func fetch(_ name: String) throws -> (scheme: String?, events: [[String: Any]]) {
            let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--cache-dir", work.join("cache"),
                                           "--output", work.join("out/\(name).zip"), "--json", "--events", work.join("\(name).jsonl")],
                                          environment: E.environment(home: work.path))
            #expect(run.status == 0, "\(run.stderr)")
            #expect(try Files.sha256(work.join("out/\(name).zip")) == (try Files.sha256(genuine)))
            let result = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            return (result?["scheme"] as? String, E.events(work.join("\(name).jsonl")))
        }

        let tampered = try fetch("tampered")
        #expect(tampered.scheme == "oci")
        let fetches = tampered.events.filter { $0["task"] as? String == "fetch" }
        #expect(fetches.first?["outcome"] as? String == "failed")
        #expect(fetches.first?["error"] as? String == "integrity-mismatch")

        try FileManager.default.removeItem(atPath: work.join("cache/\(E.cniFile)"))
        try FileManager.default.copyItem(atPath: genuine, toPath: work.join("cache/\(E.cniFile)"))
        let matching = try fetch("matching")
        #expect(matching.scheme == "file")
        #expect(matching.events.compactMap { $0["task"] as? String } == ["resolve", "oci-manifest", "fetch", "install"],
                "a manifest, then the copy; no blob")
    }

    /// No digest anywhere (no `--sha256`, no registry): a copy another user owns, or one in a directory
    /// others may write to, is not used; a root-owned one in root-owned directories is.
    @Test(arguments: ["file owned by another user", "directory writable by its group", "cache directory writable by all"])
    func withoutADigestOnlyACopyNoOtherUserCouldHavePlacedIsUsed(weakness: String) throws {
        let work = try TemporaryDirectory("cache-strict")
        try FileManager.default.createDirectory(atPath: work.join("cache/k8s"), withIntermediateDirectories: true)
        let cached = work.join("cache/k8s/kubernetes-node-linux-amd64.tar.gz")
        try Files.writeRandom(cached, size: 10_000)
        #expect(chmod(work.join("cache"), 0o755) == 0 && chmod(work.join("cache/k8s"), 0o755) == 0 && chmod(cached, 0o644) == 0)
        let trusted = try PkgfetchCLI.run(["fetch", CachePathTests.kubernetesURL, "--cache-dir", work.join("cache"), "--retries", "0",
                                           "--output", work.join("out/trusted.tgz")])
        #expect(trusted.status == 0, "\(trusted.stderr)")

        switch weakness {
        case "file owned by another user": #expect(chown(cached, 65534, 65534) == 0)
        case "directory writable by its group": #expect(chmod(work.join("cache/k8s"), 0o775) == 0)
        default: #expect(chmod(work.join("cache"), 0o777) == 0)
        }
        let run = try PkgfetchCLI.run(["fetch", CachePathTests.kubernetesURL, "--cache-dir", work.join("cache"), "--retries", "0",
                                       "--output", work.join("out/k.tgz")])
        // The copy is refused; the CDN host does not resolve, so the run fails without installing.
        #expect(run.status == 20, "\(run.stderr)")
        #expect(run.stderr.contains("is not trusted"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.join("out/k.tgz")))

        // With the digest given, the same copy is checked by its bytes and used.
        let pinned = try PkgfetchCLI.run(["fetch", CachePathTests.kubernetesURL, "--cache-dir", work.join("cache"), "--retries", "0",
                                          "--sha256", try Files.sha256(cached), "--output", work.join("out/pinned.tgz")])
        #expect(pinned.status == 0, "\(pinned.stderr)")
    }
}
