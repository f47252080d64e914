import Foundation
import Testing
import TestSupport

/// `pkgfetch fetch --identity-client-id …` against a private Azure Container Registry made of real
/// parts (the distribution registry with token auth, behind nginx) and stand-ins only for what cannot
/// run here: IMDS, and ACR's `/oauth2/exchange` and `/oauth2/token` (which mint what the real registry checks).
@Suite(.offPool) struct ACRLoginTests {
    typealias E = ORASEndToEnd
    static let clientID = "11111111-2222-3333-4444-555555555555"
    static let tenant = "99999999-8888-7777-6666-555555555555"
    static let acrResource = "https://containerregistry.azure.net"
    static let armResource = "https://management.azure.com/"

    /// The CNI zip pushed (with the oras client) into an open registry, whose storage the ACR stand-in
    /// serves — over https unless told otherwise, as ACR does.
    struct World {
        let work: TemporaryDirectory
        let seed: TestRegistry
        let file: String
        let imds: IMDSStandIn
        let acr: ACRStandIn
        let ca: TestCA?

        /// `--bootstrap-registry` (with its scheme) and, over https, `--ca-file`.
        var registryFlags: [String] {
            ["--bootstrap-registry", "\(acr.scheme)://\(acr.host)"] + (ca.map { ["--ca-file", $0.certificatePath] } ?? [])
        }

        /// `pkgfetch fetch <CNI URL> --bootstrap-registry ACR --identity-client-id … --output out`, timed.
        func fetch(_ extra: [String] = [], output: String = "out.zip", imdsEndpoint: String? = nil,
                   environment: [String: String] = [:]) async throws -> (ProcessOutput, Duration) {
            let arguments = ["fetch", E.cniURL] + registryFlags + ["--identity-client-id", ACRLoginTests.clientID,
                             "--tenant-id", ACRLoginTests.tenant, "--imds-endpoint", imdsEndpoint ?? imds.endpoint,
                             "--output", work.join(output)] + extra
            let env = E.environment(home: work.path, extra: environment)
            return try await offPool {
                let started = ContinuousClock.now
                let run = try PkgfetchCLI.run(arguments, environment: env)
                return (run, started.duration(to: .now))
            }
        }
    }

    func world(_ label: String, imdsAddress: String = "127.0.0.1", tls: Bool = true, anonymousPull: Bool = false) throws -> World {
        let work = try TemporaryDirectory(label)
        let seed = try TestRegistry()
        let file = try E.packageFile(size: 1 << 20, seed: 71, in: work)
        try seed.pushWithORAS(file, repository: E.cniRepository, tag: "v1.6.20")
        let imds = try IMDSStandIn(clientID: Self.clientID, address: imdsAddress)
        let ca = tls ? try TestCA() : nil
        let acr = try ACRStandIn(root: seed.root, imds: imds, tenant: Self.tenant, anonymousPull: anonymousPull, tls: ca)
        return World(work: work, seed: seed, file: file, imds: imds, acr: acr, ca: ca)
    }

    /// Every file below `directory` that holds `secret`.
    func files(in directory: TemporaryDirectory, containing secret: String) -> [String] {
        let needle = Data(secret.utf8)
        return directory.listing().filter { path in
            (try? Data(contentsOf: URL(fileURLWithPath: directory.join(path))))?.range(of: needle) != nil
        }
    }

    @Test func anonymousPullUsesNoIdentity() async throws {
        let work = try TemporaryDirectory("acr-anonymous")
        let open = try TestRegistry()
        let file = try E.packageFile(size: 1 << 20, seed: 72, in: work)
        try open.pushWithORAS(file, repository: E.cniRepository, tag: "v1.6.20")
        let imds = try IMDSStandIn(clientID: Self.clientID)
        let run = try await offPool {
            try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", open.host, "--identity-client-id", Self.clientID,
                                 "--tenant-id", Self.tenant, "--imds-endpoint", imds.endpoint, "--output", work.join("out.zip")],
                                environment: E.environment(home: work.path))
        }
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("out.zip")) == (try Files.sha256(file)))
        #expect(imds.calls.isEmpty)
    }

    /// RBAC (`permissions.actions` holds "read") and ABAC (no `permissions`) registries.
    @Test(arguments: [["read", "metadata_read"], nil] as [[String]?])
    func managedIdentityLoginPullsTheFileAndNoTokenLeaks(permissions: [String]?) async throws {
        let w = try world("acr-flow")
        w.acr.setPermissions(permissions)
        let (run, _) = try await w.fetch(["--verbose", "--events", w.work.join("events.jsonl")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(w.work.join("out.zip")) == (try Files.sha256(w.file)))

        // IMDS: once, direct, as IMDS wants it.
        let call = try #require(w.imds.calls.first)
        #expect(w.imds.calls.count == 1)
        #expect(call.metadata == "true")
        #expect(call.apiVersion == "2018-02-01")
        #expect(call.resource == Self.acrResource)
        #expect(call.clientID == Self.clientID)
        #expect(call.status == 200)
        // The exchange: once, with the registry as service, the tenant, and that Entra token.
        let exchange = try #require(w.acr.exchanges.first)
        #expect(w.acr.exchanges.count == 1)
        #expect(exchange.grantType == "access_token")
        #expect(exchange.service == w.acr.host)
        #expect(exchange.tenant == Self.tenant)
        #expect(exchange.resource == Self.acrResource)
        // The realm: an anonymous token refused, then one refresh-token grant for the pull scope, serving manifest and blob.
        let realm = w.acr.tokenServer.requests
        #expect(realm.map(\.grantType) == [nil, "refresh_token"])
        #expect(realm.map(\.status) == [401, 200])
        #expect(realm.last?.scopes == ["repository:\(E.cniRepository):pull"])
        #expect(realm.last?.refreshToken == w.acr.refreshTokens.first)
        // All of it through the one front, anonymous first.
        let front = w.acr.front.accessLog
        #expect(front.first == "GET /v2/\(E.cniRepository)/manifests/v1.6.20 401", "\(front)")
        #expect(front.dropFirst().first == "GET /oauth2/token 401", "\(front)")
        #expect(front.contains("POST /oauth2/exchange 200"))
        #expect(front.contains("POST /oauth2/token 200"))
        #expect(front.contains { $0.hasPrefix("GET /v2/\(E.cniRepository)/blobs/sha256:") && $0.hasSuffix(" 200") })

        // The login's steps are events of the run, in order, each once, after the anonymous token was refused.
        let steps = try EventLines(w.work.join("events.jsonl")).objects
            .filter { ["anonymous-token", "imds-token", "acr-exchange"].contains($0["task"] as? String) }
        #expect(steps.map { "\($0["task"] ?? "") \($0["outcome"] ?? "")" } == ["anonymous-token failed", "imds-token ok", "acr-exchange ok"])
        #expect(steps.allSatisfy { $0["durationMs"] != nil })
        #expect(steps.first?["status"] as? Int == 401)
        #expect(steps.first?["source"] as? String == "https://\(w.acr.host)/oauth2/token")
        #expect(steps.last?["source"] as? String == "https://\(w.acr.host)/oauth2/exchange")

        // No token anywhere: not in stdout, stderr (verbose) or events, not in any file left behind.
        let secrets = w.acr.allSecrets
        #expect(secrets.count == 3)
        let events = try String(contentsOfFile: w.work.join("events.jsonl"), encoding: .utf8)
        for secret in secrets {
            for text in [run.stdout, run.stderr, events] { #expect(!text.contains(secret)) }
            #expect(files(in: w.work, containing: secret).isEmpty)
        }
    }

    /// The scripts' order: the registry resource first; when IMDS or the exchange fails for it, the ARM resource.
    @Test(arguments: ["imds", "exchange"])
    func theARMResourceIsUsedWhenTheRegistryResourceFails(failingStep: String) async throws {
        let w = try world("acr-arm")
        if failingStep == "imds" {
            w.imds.script(Self.acrResource, [.failure(status: 400, error: "invalid_resource", description: "AADSTS500011: resource not found")])
        } else {
            w.acr.refuseTokens(for: Self.acrResource)
        }
        let (run, _) = try await w.fetch()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(w.work.join("out.zip")) == (try Files.sha256(w.file)))
        #expect(w.imds.calls.map(\.resource) == [Self.acrResource, Self.armResource])
        if failingStep == "imds" {
            #expect(w.imds.calls.map(\.status) == [400, 200])   // a 400 is not tried again
            #expect(w.acr.exchanges.map(\.resource) == [Self.armResource])
        } else {
            #expect(w.acr.exchanges.map(\.status) == [401, 200])   // a refusal is not tried again
            #expect(w.acr.exchanges.map(\.resource) == [Self.acrResource, Self.armResource])
        }
    }

    @Test func identityResourceNamesTheOnlyResourceAsked() async throws {
        let w = try world("acr-resource")
        let (run, _) = try await w.fetch(["--identity-resource", Self.armResource])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(w.imds.calls.map(\.resource) == [Self.armResource])

        // Refused for that one resource: no other is tried.
        w.acr.refuseTokens(for: Self.armResource)
        let (refused, _) = try await w.fetch(["--identity-resource", Self.armResource], output: "refused.zip")
        #expect(refused.status == 31, "\(refused.stderr)")
        #expect(w.imds.calls.map(\.resource) == [Self.armResource, Self.armResource])
    }

    /// Nothing listening, or IMDS up but answering 503: retried with backoff for each resource, and
    /// given up at the deadline with `identity-token-failed`, without ever reaching the exchange.
    @Test(.alone, arguments: [false, true])
    func imdsDownEndsWith41WithinTheDeadline(listening: Bool) async throws {
        let w = try world("acr-imds-down")
        var endpoint: String?
        if listening {
            for resource in [Self.acrResource, Self.armResource] {
                w.imds.script(resource, [.failure(status: 503, error: "service_unavailable", description: "try again")])
            }
        } else {
            endpoint = "http://127.0.0.1:\(try Ports.free())\(IMDSStandIn.path)"
        }
        let (run, elapsed) = try await w.fetch(["--deadline", "10s", "--events", w.work.join("events.jsonl")], imdsEndpoint: endpoint)
        #expect(run.status == 41, "\(run.stderr)")
        #expect(run.stderr.contains("error[identity-token-failed]"))
        #expect(run.stderr.contains("no token from IMDS"))
        // Ended by the deadline: the tries below show it; the bound only tells it from a hang, with room
        // for a loaded machine.
        #expect(elapsed < .seconds(60), "\(elapsed)")
        #expect(elapsed > .seconds(5), "\(elapsed): the budget was not spent")
        #expect(w.acr.exchanges.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: w.work.join("out.zip")))
        if listening {
            // Five tries for the registry resource, then the ARM resource until the deadline: its five
            // tries would need 6 s or more of backoff after the registry resource's 6 s, past the 10 s.
            #expect(w.imds.calls.filter { $0.resource == Self.acrResource }.count == 5)
            #expect((1..<5).contains(w.imds.calls.filter { $0.resource == Self.armResource }.count), "\(w.imds.calls.map(\.resource))")
        }
        let events = try EventLines(w.work.join("events.jsonl"))
        #expect(events.task("fetch").last?["error"] as? String == "identity-token-failed")
        // Each resource's IMDS step failed, with how many tries it took; the exchange was never reached.
        let imds = events.task("imds-token")
        #expect(!imds.isEmpty && imds.allSatisfy { $0["outcome"] as? String == "failed" && $0["error"] as? String == "identity-token-failed" })
        if listening { #expect(imds.first?["attempt"] as? Int == 5) }
        #expect(events.task("acr-exchange").isEmpty)
    }

    @Test func exchangeRefusedEndsWith31() async throws {
        let w = try world("acr-exchange-401")
        w.acr.refuseExchanges(status: 401)
        let (run, _) = try await w.fetch()
        #expect(run.status == 31, "\(run.stderr)")
        #expect(run.stderr.contains("error[registry-unauthorized]"))
        #expect(run.stderr.contains("/oauth2/exchange: refused (HTTP 401)"))
        // Each resource once: a refusal is not retried, by the step or by the run.
        #expect(w.acr.exchanges.map(\.resource) == [Self.acrResource, Self.armResource])
        #expect(w.imds.calls.count == 2)
        #expect(w.acr.tokenServer.requests.map(\.grantType) == [nil], "only the anonymous token was asked for")
        for secret in w.acr.allSecrets { #expect(!run.stderr.contains(secret) && !run.stdout.contains(secret)) }
    }

    @Test func aRefreshTokenWithoutReadEndsWith31BeforeAnyPull() async throws {
        let w = try world("acr-no-read")
        w.acr.setPermissions(["metadata_read", "write"])
        let (run, _) = try await w.fetch(["--json"])
        #expect(run.status == 31, "\(run.stderr)")
        #expect(run.stderr.contains("error[registry-unauthorized]"))
        #expect(run.stderr.contains("managed identity \(Self.clientID) may not pull from \(w.acr.host)"))
        #expect(run.stderr.contains(#"permits ["metadata_read", "write"], not "read""#))
        #expect(run.stderr.contains("AcrPull"))
        #expect(run.stdout.contains(#""error":"registry-unauthorized""#))
        // Early: one login, no other resource, no token asked of the realm but the anonymous one.
        #expect(w.imds.calls.count == 1)
        #expect(w.acr.exchanges.count == 1)
        #expect(w.acr.tokenServer.requests.map(\.grantType) == [nil])
        for secret in w.acr.allSecrets { #expect(!run.stderr.contains(secret) && !run.stdout.contains(secret)) }
    }

    /// IMDS on 127.0.0.2, the registry on 127.0.0.1 (in NO_PROXY), HTTP_PROXY and HTTPS_PROXY set to a
    /// recording proxy: the IMDS request goes direct all the same; a plain download from 127.0.0.2
    /// shows the proxy settings do apply there otherwise.
    @Test func imdsIsAskedDirectlyEvenWithProxiesSet() async throws {
        let w = try world("acr-proxy", imdsAddress: "127.0.0.2")
        let proxy = try FaultServer()
        let proxies = ["HTTP_PROXY": proxy.url(""), "HTTPS_PROXY": proxy.url(""), "http_proxy": proxy.url(""),
                       "https_proxy": proxy.url(""), "NO_PROXY": "127.0.0.1"]
        let (run, _) = try await w.fetch(environment: proxies)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(proxy.requests().isEmpty, "\(proxy.requests().map(\.target))")
        let call = try #require(w.imds.calls.first)
        #expect(call.metadata == "true")
        #expect(call.forwardedFor == nil)

        // Control: the same environment sends an ordinary request for 127.0.0.2 to the proxy.
        let imdsBase = String(w.imds.endpoint.dropLast(IMDSStandIn.path.count))
        let control = try await offPool {
            try PkgfetchCLI.run(["fetch", "\(imdsBase)/control.zip", "--output", w.work.join("control.zip"), "--retries", "0"],
                                environment: E.environment(home: w.work.path, extra: proxies))
        }
        #expect(control.status != 0)
        #expect(proxy.requests().map(\.target) == ["\(imdsBase)/control.zip"])
    }

    /// Issue 16: a registry whose realm hands out anonymous pull tokens (ACR with anonymous pull) is
    /// pulled from without the identity: no IMDS call, no exchange; the events say so.
    @Test func anAnonymousPullRegistryIsPulledWithoutTheIdentity() async throws {
        let w = try world("acr-anonymous-realm", anonymousPull: true)
        let (run, _) = try await w.fetch(["--events", w.work.join("events.jsonl")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(w.work.join("out.zip")) == (try Files.sha256(w.file)))
        #expect(w.imds.calls.isEmpty)
        #expect(w.acr.exchanges.isEmpty)
        #expect(w.acr.tokenServer.requests.map(\.status) == [200])
        #expect(w.acr.tokenServer.requests.allSatisfy { $0.grantType == nil && !$0.hadAuthorization })
        let events = try EventLines(w.work.join("events.jsonl"))
        #expect(events.task("anonymous-token").map { $0["outcome"] as? String } == ["ok"])
        #expect(events.task("anonymous-access").map { $0["outcome"] as? String } == ["ok"])
        #expect(events.task("imds-token").isEmpty && events.task("acr-exchange").isEmpty)

        // With IMDS not there at all (a node whose identity endpoint is down), the pull does not wait for it.
        let dead = "http://127.0.0.1:\(try Ports.free())\(IMDSStandIn.path)"
        let (down, elapsed) = try await w.fetch(["--deadline", "60s", "--events", w.work.join("down.jsonl")], output: "down.zip",
                                                imdsEndpoint: dead)
        #expect(down.status == 0, "\(down.stderr)")
        #expect(try EventLines(w.work.join("down.jsonl")).task("imds-token").isEmpty, "IMDS was asked")
        // Not held up to the deadline (60 s): room for a loaded machine.
        #expect(elapsed < .seconds(40), "\(elapsed)")
    }

    /// A batch of three packages from three repositories, three at once: whether anonymous access
    /// works is asked of the realm once; the identity logs in once where it is needed, never where not.
    @Test(arguments: [false, true])
    func aBatchAsksAnonymouslyOnce(anonymousPull: Bool) async throws {
        let w = try world("acr-batch", anonymousPull: anonymousPull)
        var entries: [[String: Any]] = [["url": E.cniURL, "output": w.work.join("out/cni.zip")]]
        for (index, version) in ["v1.33.7", "v1.32.1"].enumerated() {
            let file = try E.packageFile("kubernetes-node-linux-amd64.tar.gz", size: 100_000, seed: UInt64(80 + index), in: w.work)
            try w.seed.pushWithORAS(file, repository: "oss/binaries/kubernetes/kubernetes-node", tag: "\(version)-linux-amd64")
            entries.append(["url": "https://packages.aks.azure.com/kubernetes/\(version)/binaries/kubernetes-node-linux-amd64.tar.gz",
                            "output": w.work.join("out/\(version).tar.gz"), "sha256": try Files.sha256(file)])
        }
        try JSONSerialization.data(withJSONObject: entries).write(to: URL(fileURLWithPath: w.work.join("list.json")))
        let arguments = ["batch", w.work.join("list.json"), "--parallel", "3"] + w.registryFlags
            + ["--identity-client-id", Self.clientID, "--tenant-id", Self.tenant, "--imds-endpoint", w.imds.endpoint,
               "--events", w.work.join("events.jsonl")]
        let run = try await offPool { try PkgfetchCLI.run(arguments, environment: E.environment(home: w.work.path)) }
        #expect(run.status == 0, "\(run.stderr)")
        let anonymous = w.acr.tokenServer.requests.filter { $0.grantType == nil }
        let events = try EventLines(w.work.join("events.jsonl"))
        if anonymousPull {
            // Anonymous tokens for both repositories (a token is scoped to one; two pulls of one
            // repository that start together may each ask), no login at all.
            #expect(anonymous.allSatisfy { $0.status == 200 })
            #expect(Set(anonymous.flatMap(\.scopes)) == ["repository:\(E.cniRepository):pull", "repository:oss/binaries/kubernetes/kubernetes-node:pull"])
            #expect(w.imds.calls.isEmpty && w.acr.exchanges.isEmpty)
            #expect(events.task("anonymous-access").map { $0["outcome"] as? String } == ["ok"])
        } else {
            #expect(anonymous.map(\.status) == [401], "\(w.acr.tokenServer.requests.map(\.status))")
            #expect(w.imds.calls.count == 1)
            #expect(w.acr.exchanges.count == 1)
            #expect(events.task("anonymous-token").map { $0["outcome"] as? String } == ["failed"])
        }
    }

    /// Over plain HTTP the ARM resource's token is not asked for, let alone sent to the exchange.
    @Test func anARMTokenNeverCrossesPlainHTTP() async throws {
        let w = try world("acr-arm-plain", tls: false)
        w.acr.refuseTokens(for: Self.acrResource)
        let (run, _) = try await w.fetch()
        #expect(run.status == 31, "\(run.stderr)")
        #expect(run.stderr.contains("for \(Self.armResource): not asked, its token is never sent over plain HTTP"), "\(run.stderr)")
        #expect(w.imds.calls.map(\.resource) == [Self.acrResource])
        #expect(w.acr.exchanges.map(\.resource) == [Self.acrResource])

        let (only, _) = try await w.fetch(["--identity-resource", Self.armResource], output: "only.zip")
        #expect(only.status == 41, "\(only.stderr)")
        #expect(w.imds.calls.count == 1)
    }

    @Test func identityFlagsAreValidated() throws {
        let work = try TemporaryDirectory("acr-flags")
        let cases: [([String], String)] = [
            (["--tenant-id", Self.tenant], "--tenant-id goes with --identity-client-id"),
            (["--imds-endpoint", "http://127.0.0.1:1/x"], "--imds-endpoint goes with --identity-client-id"),
            (["--identity-resource", Self.armResource], "--identity-resource goes with --identity-client-id"),
            (["--identity-client-id", ""], "--identity-client-id ''"),
            (["--identity-client-id", Self.clientID, "--imds-endpoint", "ftp://169.254.169.254/x"], "expected an http(s) URL"),
            (["--identity-client-id", Self.clientID, "--identity-resource", "containerregistry"], "expected an http(s) URL"),
            (["--identity-client-id", Self.clientID, "--username", "u", "--password-stdin"], "give one source of registry credentials"),
        ]
        for (flags, message) in cases {
            let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", "127.0.0.1:1", "--output", work.join("x.zip")] + flags,
                                          environment: E.environment(home: work.path), stdin: Data())
            #expect(run.status == 2, "\(flags): \(run.stderr)")
            #expect(run.stderr.contains(message), "\(flags): \(run.stderr)")
        }
    }
}
