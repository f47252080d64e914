import Foundation
import Testing
import TestSupport

/// containerd's hosts.toml honoured by `pkgfetch fetch`, against real registries: the origin is a
/// `docker-registry`; mirrors are a second one holding a copy, a third run as a pull-through cache,
/// and nginx in front of one (a path prefix, its own CA). What each server saw is read from its
/// access log.
@Suite(.offPool) struct MirrorTests {
    typealias E = ORASEndToEnd
    static let tag = "v1.6.20"

    /// An origin registry with the CNI package pushed, a hosts directory, and a work directory.
    struct Fleet {
        let work: TemporaryDirectory
        let origin: TestRegistry
        let file: String
        let hostsDir: String

        init(_ name: String, seed: UInt64, size: Int = 256 * 1024, auth: TestRegistry.Auth = .none) throws {
            work = try TemporaryDirectory(name)
            origin = try TestRegistry(auth: auth, accessLog: true)
            file = try E.packageFile(size: size, seed: seed, in: work)
            hostsDir = work.join("certs.d")
            if case .none = auth {
                try origin.pushWithORAS(file, repository: E.cniRepository, tag: MirrorTests.tag)
            }
        }

        /// Writes `text` as the hosts.toml of directory `name` (default: the origin's `host:port`).
        func hostsToml(_ text: String, directory name: String? = nil) throws {
            let directory = hostsDir + "/" + (name ?? origin.host)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try text.write(toFile: directory + "/hosts.toml", atomically: true, encoding: .utf8)
        }

        /// A byte-for-byte copy of the package's manifest and blobs in `mirror` (skopeo, digests kept).
        func copy(to mirror: TestRegistry) throws { try Self.copy(from: origin, to: mirror) }

        static func copy(from origin: TestRegistry, to mirror: TestRegistry) throws {
            try Processes.check(["skopeo", "copy", "--quiet", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
                                 "docker://\(origin.host)/\(E.cniRepository):\(MirrorTests.tag)",
                                 "docker://\(mirror.host)/\(E.cniRepository):\(MirrorTests.tag)"])
        }

        /// `pkgfetch fetch` of the CNI URL from the origin with this hosts directory; events in `events-N.jsonl`.
        func fetch(_ name: String, _ extra: [String] = [], environment: [String: String] = [:]) throws -> (ProcessOutput, EventLines?) {
            let events = work.join("events-\(name).jsonl")
            let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", origin.host, "--hosts-dir", hostsDir,
                                           "--output", work.join("out-\(name).zip"), "--events", events, "--retries", "0"] + extra,
                                          environment: LoopbackCLI.environment(["HOME": work.path].merging(environment) { $1 }))
            return (run, try? EventLines(events))
        }

        func fetchedIsThePackage(_ name: String) throws -> Bool {
            try Files.sha256(work.join("out-\(name).zip")) == (try Files.sha256(file))
        }

        /// Who served the bytes, as the `fetch` event names it.
        static func servedBy(_ events: EventLines?) -> String? {
            events?.task("fetch").last?["servedBy"] as? String
        }

        static func sourceKind(_ events: EventLines?) -> String? {
            events?.task("fetch").last?["sourceKind"] as? String
        }
    }

    static func blobRequests(_ registry: TestRegistry, agent: String = "pkgfetch") -> [String] {
        registry.requests.filter { $0.contains("/blobs/sha256:") && $0.contains(agent) }
    }

    @Test func mirrorHoldingACopyIsTriedFirstAndCarriesTheNamespace() throws {
        let fleet = try Fleet("mirror-first", seed: 41)
        let mirror = try TestRegistry(accessLog: true)
        try fleet.copy(to: mirror)
        let before = fleet.origin.requests.count
        try fleet.hostsToml("""
        server = "http://\(fleet.origin.host)"

        [host."http://\(mirror.host)"]
          capabilities = ["pull", "resolve"]
        """)
        let (run, events) = try fleet.fetch("a")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try fleet.fetchedIsThePackage("a"))
        #expect(Fleet.servedBy(events) == "http://\(mirror.host)")
        #expect(Fleet.sourceKind(events) == "mirror")
        #expect(fleet.origin.requests.count == before, "the origin was asked: \(fleet.origin.requests.suffix(4))")
        let ns = "ns=127.0.0.1%3A\(fleet.origin.port)"
        #expect(mirror.requests.contains { $0.hasPrefix("GET /v2/\(E.cniRepository)/manifests/\(Self.tag)?\(ns) 200") }, "\(mirror.requests)")
        #expect(Self.blobRequests(mirror).contains { $0.contains("?\(ns) 200") }, "\(mirror.requests)")
    }

    @Test func mirrorDownFallsBackToTheServerQuickly() throws {
        let fleet = try Fleet("mirror-down", seed: 42)
        let closed = try Ports.free()   // nothing listens there
        try fleet.hostsToml("""
        [host."http://127.0.0.1:\(closed)"]
          capabilities = ["pull", "resolve"]
          dial_timeout = "200ms"
        """)
        let started = ContinuousClock.now
        let (run, events) = try fleet.fetch("a")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try fleet.fetchedIsThePackage("a"))
        #expect(Fleet.servedBy(events) == "http://\(fleet.origin.host)")
        #expect(Fleet.sourceKind(events) == "registry")
        let skipped = events?.task("oci-host").compactMap { $0["servedBy"] as? String } ?? []
        #expect(skipped.allSatisfy { $0 == "http://127.0.0.1:\(closed)" } && skipped.count == 2, "manifest and blob each passed over the mirror once: \(skipped)")
        #expect(started.duration(to: .now) < .seconds(20))
        // The origin saw no ?ns= (it is the registry itself).
        #expect(fleet.origin.requests.contains { $0.hasPrefix("GET /v2/\(E.cniRepository)/manifests/\(Self.tag) 200") }, "\(fleet.origin.requests)")
    }

    @Test func emptyMirrorAnswers404ThenTheOriginServes() throws {
        let fleet = try Fleet("mirror-404", seed: 43)
        let mirror = try TestRegistry(accessLog: true)
        try fleet.hostsToml("""
        [host."http://\(mirror.host)"]
        """, directory: "127.0.0.1_\(fleet.origin.port)_")   // containerd's host_port_ spelling is looked up first
        let (run, events) = try fleet.fetch("a")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Fleet.servedBy(events) == "http://\(fleet.origin.host)")
        #expect(mirror.requests.contains { $0.contains("/manifests/\(Self.tag)?ns=") && $0.contains(" 404 ") }, "\(mirror.requests)")
        #expect(!Self.blobRequests(fleet.origin).isEmpty)
    }

    @Test func pullOnlyCacheGetsBlobsWhileTheOriginResolvesTheTag() throws {
        let fleet = try Fleet("mirror-cache", seed: 44)
        let cache = try TestRegistry(accessLog: true, proxy: "http://\(fleet.origin.host)")
        try fleet.hostsToml("""
        server = "http://\(fleet.origin.host)"
        [host."http://\(cache.host)"]
          capabilities = ["pull"]
        """)
        for node in ["a", "b"] {
            let (run, events) = try fleet.fetch(node)
            #expect(run.status == 0, "\(node): \(run.stderr)")
            #expect(try fleet.fetchedIsThePackage(node))
            #expect(Fleet.servedBy(events) == "http://\(cache.host)")
        }
        let origin = fleet.origin.requests
        // The tag was resolved at the origin each time, never at the cache.
        #expect(origin.filter { $0.hasPrefix("GET /v2/\(E.cniRepository)/manifests/\(Self.tag) 200") && $0.contains("pkgfetch") }.count == 2, "\(origin)")
        #expect(!cache.requests.contains { $0.contains("/manifests/\(Self.tag)") }, "\(cache.requests)")
        // The blob went to pkgfetch from the cache twice; the origin gave it to nobody but the cache
        // (distribution's proxy may fetch it again while its first copy is still being stored).
        #expect(Self.blobRequests(cache).filter { $0.contains(" 200 ") }.count == 2, "\(cache.requests)")
        #expect(Self.blobRequests(fleet.origin).isEmpty, "\(origin)")
        let cacheFetches = origin.filter { $0.hasPrefix("GET /v2/\(E.cniRepository)/blobs/") }
        #expect(!cacheFetches.isEmpty && cacheFetches.allSatisfy { $0.hasSuffix("Go-http-client/1.1") }, "\(origin)")
    }

    @Test func mirrorUnderAPathPrefixAndWithOverridePath() throws {
        let fleet = try Fleet("mirror-path", seed: 45)
        let mirror = try TestRegistry(accessLog: true)
        try fleet.copy(to: mirror)
        let front = try NginxFront(port: try Ports.free(),
                                   routes: [("/prefix/v2/", mirror.port), ("/api-root/", mirror.port)],
                                   upstreamPaths: ["/prefix/v2/": "/v2/", "/api-root/": "/v2/"])
        // A path gets /v2 appended as containerd does; with override_path it is the API root as written.
        for (name, entry) in [("prefix", "[host.\"http://\(front.host)/prefix\"]"),
                              ("override", "[host.\"http://\(front.host)/api-root\"]\noverride_path = true")] {
            try fleet.hostsToml("\(entry)\ncapabilities = [\"pull\", \"resolve\"]\n")
            let (run, events) = try fleet.fetch(name)
            #expect(run.status == 0, "\(name): \(run.stderr)")
            #expect(Fleet.servedBy(events) == "http://\(front.host)", "\(name)")
        }
        let log = front.accessLog
        #expect(log.contains { $0.hasPrefix("GET /prefix/v2/\(E.cniRepository)/blobs/sha256:") && $0.hasSuffix(" 200") }, "\(log)")
        #expect(log.contains { $0.hasPrefix("GET /api-root/\(E.cniRepository)/blobs/sha256:") && $0.hasSuffix(" 200") }, "\(log)")
        #expect(Self.blobRequests(fleet.origin).isEmpty)
    }

    @Test func mirrorWithItsOwnCAIsTrustedOnlyThroughItsHostsEntry() throws {
        let fleet = try Fleet("mirror-ca", seed: 46)
        let mirror = try TestRegistry(accessLog: true)
        try fleet.copy(to: mirror)
        let ca = try TestCA()
        let front = try NginxFront(port: try Ports.free(), routes: [("/v2/", mirror.port)], tls: ca)
        let directory = fleet.hostsDir + "/" + fleet.origin.host
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ca.certificatePath, toPath: directory + "/mirror-ca.pem")
        // Without its CA the mirror's certificate is refused, and the origin serves.
        try fleet.hostsToml("[host.\"https://\(front.host)\"]\n")
        let (untrusted, untrustedEvents) = try fleet.fetch("untrusted")
        #expect(untrusted.status == 0, "\(untrusted.stderr)")
        #expect(Fleet.servedBy(untrustedEvents) == "http://\(fleet.origin.host)")
        // With `ca` (relative to the hosts.toml) it is the mirror.
        try fleet.hostsToml("[host.\"https://\(front.host)\"]\nca = \"mirror-ca.pem\"\n")
        let (trusted, trustedEvents) = try fleet.fetch("trusted")
        #expect(trusted.status == 0, "\(trusted.stderr)")
        #expect(Fleet.servedBy(trustedEvents) == "https://\(front.host)")
        #expect(try fleet.fetchedIsThePackage("trusted"))
    }

    @Test func mirrorAskingForAClientCertificateGetsTheOneNamedAndTheHeaders() throws {
        let fleet = try Fleet("mirror-client", seed: 51)
        let mirror = try TestRegistry(accessLog: true)
        try fleet.copy(to: mirror)
        let ca = try TestCA()
        let front = try NginxFront(port: try Ports.free(), routes: [("/v2/", mirror.port)], tls: ca, clientCA: ca.certificatePath)
        let directory = fleet.hostsDir + "/" + fleet.origin.host
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ca.certificatePath, toPath: directory + "/ca.pem")
        let (certificate, _) = try ca.clientCertificate(in: directory)   // the key is client.key beside it
        let entry = "[host.\"https://\(front.host)\"]\nca = \"ca.pem\"\n"
        let header = "[host.\"https://\(front.host)\".header]\nx-pkgfetch-test = \"from-hosts-toml\"\n"
        // Without a client certificate nginx refuses (HTTP 400), and the origin serves.
        try fleet.hostsToml(entry + header)
        let (without, withoutEvents) = try fleet.fetch("without")
        #expect(without.status == 0, "\(without.stderr)")
        #expect(Fleet.servedBy(withoutEvents) == "http://\(fleet.origin.host)")
        #expect(front.accessLog.contains { $0.hasSuffix(" 400") }, "\(front.accessLog)")
        // With `client` (a [certificate, key] pair) the mirror serves, and saw the header on each request.
        try fleet.hostsToml(entry + "client = [[\"\(certificate)\", \"client.key\"]]\n" + header)
        let (with, withEvents) = try fleet.fetch("with")
        #expect(with.status == 0, "\(with.stderr)")
        #expect(Fleet.servedBy(withEvents) == "https://\(front.host)")
        #expect(try fleet.fetchedIsThePackage("with"))
        let served = front.headerLog.filter { $0.contains(" 200 ") }
        #expect(!served.isEmpty && served.allSatisfy { $0.hasSuffix(" from-hosts-toml") }, "\(front.headerLog)")
    }

    /// A mirror that answers and then breaks off every blob transfer must not take every attempt:
    /// the retry asks the registry first.
    @Test func mirrorCuttingTheBlobEveryTimeLetsTheRetryGoToTheRegistry() throws {
        let fleet = try Fleet("mirror-cut", seed: 52)
        let manifest = try JSONSerialization.jsonObject(with: try fleet.origin.manifest(repository: E.cniRepository, reference: Self.tag).body) as? [String: Any]
        let layer = ((manifest?["layers"] as? [[String: Any]])?.first?["digest"] as? String) ?? ""
        let mirror = try FaultServer()
        let blobPath = "/v2/\(E.cniRepository)/blobs/\(layer)"
        mirror.serve(blobPath, body: try Data(contentsOf: URL(fileURLWithPath: fleet.file)),
                     faults: Array(repeating: .cut(afterBytes: 4096), count: 20))
        try fleet.hostsToml("[host.\"http://127.0.0.1:\(mirror.port)\"]\ncapabilities = [\"pull\"]\n")
        let (run, events) = try fleet.fetch("a", ["--retries", "2", "--retry-delay", "100ms"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try fleet.fetchedIsThePackage("a"))
        #expect(Fleet.servedBy(events) == "http://\(fleet.origin.host)")
        #expect(mirror.requests(to: blobPath).count == 1, "the mirror had the first attempt only")
        #expect(events?.task("resume").isEmpty == false, "the cut stream was resumed, at the registry: \(events?.text ?? "")")
    }

    @Test func corruptBlobOnTheMirrorFailsTheSourceWithoutTryingTheOrigin() throws {
        let fleet = try Fleet("mirror-corrupt", seed: 47)
        let mirror = try TestRegistry(accessLog: true)
        try fleet.copy(to: mirror)
        let manifest = try JSONSerialization.jsonObject(with: try mirror.manifest(repository: E.cniRepository, reference: Self.tag).body) as? [String: Any]
        let layer = ((manifest?["layers"] as? [[String: Any]])?.first?["digest"] as? String) ?? ""
        let path = mirror.blobDataPath(layer)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        try fleet.hostsToml("[host.\"http://\(mirror.host)\"]\n")
        let (run, events) = try fleet.fetch("a", ["--retries", "2"])
        #expect(run.status == 50, "a digest mismatch is integrity-mismatch: \(run.stderr)")
        #expect(run.stderr.contains("integrity"), "\(run.stderr)")
        #expect(Self.blobRequests(fleet.origin).isEmpty, "the origin's copy is not tried: \(fleet.origin.requests)")
        #expect(Self.blobRequests(mirror).count == 1, "not retried: \(mirror.requests)")
        #expect(events?.task("fetch").last?["outcome"] as? String == "failed")
        #expect(!FileManager.default.fileExists(atPath: fleet.work.join("out-a.zip")))
    }

    @Test func registryCredentialsAreNotOfferedToAMirror() throws {
        let users = ["fleet": "s3cret-pass"]
        let fleet = try Fleet("mirror-creds", seed: 48, auth: .htpasswd(users: users))
        // The same user exists on the mirror: it would serve if the origin's credentials were sent to it.
        let mirror = try TestRegistry(auth: .htpasswd(users: users), accessLog: true)
        let open = try TestRegistry(root: fleet.origin.root)
        try open.pushWithORAS(fleet.file, repository: E.cniRepository, tag: Self.tag)
        let openMirror = try TestRegistry(root: mirror.root)
        try Fleet.copy(from: open, to: openMirror)
        try fleet.hostsToml("[host.\"http://\(mirror.host)\"]\n")
        let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", fleet.origin.host, "--hosts-dir", fleet.hostsDir,
                                       "--username", "fleet", "--password-stdin", "--retries", "0", "--output", fleet.work.join("out.zip"),
                                       "--events", fleet.work.join("events.jsonl")],
                                      environment: LoopbackCLI.environment(["HOME": fleet.work.path]), stdin: Data("s3cret-pass\n".utf8))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Fleet.servedBy(try? EventLines(fleet.work.join("events.jsonl"))) == "http://\(fleet.origin.host)")
        let seen = mirror.requests.filter { $0.contains(E.cniRepository) }
        #expect(!seen.isEmpty && seen.allSatisfy { $0.contains(" 401 ") }, "the mirror only ever refused: \(seen)")
        #expect(!run.stderr.contains("s3cret") && !((try? String(contentsOfFile: fleet.work.join("events.jsonl"), encoding: .utf8)) ?? "").contains("s3cret"))
    }

    @Test func defaultDirectoryServesEveryRegistryAndNoHostsDirTurnsItOff() throws {
        let fleet = try Fleet("mirror-default", seed: 49)
        let mirror = try TestRegistry(accessLog: true)
        try fleet.copy(to: mirror)
        try fleet.hostsToml("[host.\"http://\(mirror.host)\"]\n", directory: "_default")
        let (viaDefault, events) = try fleet.fetch("a")
        #expect(viaDefault.status == 0, "\(viaDefault.stderr)")
        #expect(Fleet.servedBy(events) == "http://\(mirror.host)")
        let mirrorRequests = mirror.requests.count
        for off in [["--no-hosts-dir"], ["--hosts-dir", ""]] {
            let (run, offEvents) = try fleet.fetch("off\(off.count)", off)
            #expect(run.status == 0, "\(off): \(run.stderr)")
            #expect(Fleet.servedBy(offEvents) == "http://\(fleet.origin.host)", "\(off)")
        }
        #expect(mirror.requests.count == mirrorRequests)
    }

    @Test func resolveListsTheHostsInOrderAndABadFileIsExit2() throws {
        let fleet = try Fleet("mirror-resolve", seed: 50)
        try fleet.hostsToml("""
        server = "http://\(fleet.origin.host)"
        [host."http://127.0.0.1:1"]
          capabilities = ["pull"]
        [host."https://mirror.example:5000/cache"]
        """)
        let run = try PkgfetchCLI.run(["resolve", E.cniURL, "--bootstrap-registry", fleet.origin.host, "--hosts-dir", fleet.hostsDir, "--json"],
                                      environment: LoopbackCLI.environment(["HOME": fleet.work.path]))
        #expect(run.status == 0, "\(run.stderr)")
        let plan = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let oci = (plan?["sources"] as? [[String: Any]])?.first { $0["scheme"] as? String == "oci" }
        let urls = (oci?["hosts"] as? [[String: Any]])?.compactMap { $0["url"] as? String }
        #expect(urls == ["http://127.0.0.1:1/v2", "https://mirror.example:5000/cache/v2", "http://\(fleet.origin.host)/v2"])
        let resolves = (oci?["hosts"] as? [[String: Any]])?.compactMap { $0["resolve"] as? Bool }
        #expect(resolves == [false, true, true])

        try fleet.hostsToml("[host.\"http://127.0.0.1:1\"]\ncapabilities = [\"pull\", \"fly\"]\n")
        let (bad, _) = try fleet.fetch("bad")
        #expect(bad.status == 2, "\(bad.stderr)")
        #expect(bad.stderr.contains("hosts.toml") && bad.stderr.contains("unknown capability 'fly'"), "\(bad.stderr)")
        #expect(bad.stderr.split(separator: "\n").count == 1, "one line: \(bad.stderr)")
    }
}
