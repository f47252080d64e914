import Foundation
import Pipeline
import SourcesHTTP
import Testing
import TestSupport
@testable import SourcesORAS

/// Anonymous first, also with a managed identity, as the node scripts do: on a Bearer challenge the
/// realm is asked for an anonymous token, and the identity (IMDS + exchange) is used only when the
/// realm or the registry refuses it; what that came to is learned once per registry. Against the
/// real registry with token auth behind the ACR stand-in.
extension AzureIdentityTests {
    /// Requests the realm answered without any credential.
    static func anonymousRequests(_ acr: ACRStandIn) -> [TokenServer.Issued] {
        acr.tokenServer.requests.filter { $0.grantType == nil && !$0.hadAuthorization }
    }

    static func authEvents(_ pulled: Pulled) -> [String] {
        pulled.events.filter { $0.task.hasPrefix("anonymous-") }.map { "\($0.task) \($0.outcome)\($0.status.map { " \($0)" } ?? "")" }
    }

    @Test func aRealmThatHandsOutAnonymousPullTokensNeedsNoIdentity() async throws {
        let s = try await setup("anon-allowed", anonymousPull: true)
        let first = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work, name: "one")
        let second = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work, name: "two")
        #expect(first.digest.hex == (try Files.sha256(s.file)))
        #expect(second.digest == first.digest)
        #expect(s.imds.calls.isEmpty)
        #expect(s.acr.exchanges.isEmpty)
        #expect(await s.store.loginCount == 0)
        // One anonymous token served both pulls (cached per host and scope).
        let realm = s.acr.tokenServer.requests
        #expect(realm.map(\.status) == [200])
        #expect(Self.anonymousRequests(s.acr).map(\.scopes) == [["repository:\(repository):pull"]])
        #expect(Self.authEvents(first) == ["anonymous-token ok", "anonymous-access ok"])
        #expect(Self.authEvents(second).isEmpty)
    }

    @Test func anonymousRefusedByTheRealmUsesTheIdentityAndIsNotAskedAgain() async throws {
        let s = try await setup("anon-realm-refuses")
        _ = try await offPool { try s.seed.pushWithORAS(s.file, repository: "aks/packages/other", tag: "v1.6.20") }
        let first = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work, name: "one")
        let other = try await pull(s.fetcher, "\(s.acr.host)/aks/packages/other:v1.6.20", fileName: fileName, into: s.work, name: "two")
        #expect(first.digest.hex == (try Files.sha256(s.file)))
        #expect(other.digest == first.digest)
        let realm = s.acr.tokenServer.requests
        #expect(realm.map(\.grantType) == [nil, "refresh_token", "refresh_token"])
        #expect(realm.map(\.status) == [401, 200, 200])
        #expect(s.imds.calls.count == 1)
        #expect(s.acr.exchanges.count == 1)
        #expect(Self.authEvents(first) == ["anonymous-token failed 401"])
        #expect(first.events.first { $0.task == "anonymous-token" }?.error == "registry-unauthorized")
        #expect(Self.authEvents(other).isEmpty, "learned per registry: the second repository goes to the identity at once")
    }

    /// A realm that answers a credential-less request with another 4xx than 401 has refused all the
    /// same: the identity is tried, the pull does not fail on the probe.
    @Test(arguments: [400, 403, 404])
    func anyRefusalOfTheRealmLeadsToTheIdentity(status: Int) async throws {
        let s = try await setup("anon-realm-\(status)")
        s.acr.tokenServer.refuseAnonymous(status: status)
        let pulled = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work)
        #expect(pulled.digest.hex == (try Files.sha256(s.file)))
        #expect(s.acr.tokenServer.requests.map(\.status) == [status, 200])
        #expect(s.imds.calls.count == 1)
        #expect(Self.authEvents(pulled) == ["anonymous-token failed \(status)"])
    }

    @Test func anAnonymousTokenTheRegistryRefusesForTheRepositoryUsesTheIdentity() async throws {
        let s = try await setup("anon-registry-refuses", anonymousPull: true)
        s.acr.tokenServer.denyAnonymousPull()
        let pulled = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work)
        #expect(pulled.digest.hex == (try Files.sha256(s.file)))
        let realm = s.acr.tokenServer.requests
        #expect(realm.map(\.grantType) == [nil, "refresh_token"])
        #expect(realm.map(\.status) == [200, 200])
        #expect(s.imds.calls.count == 1)
        #expect(s.acr.exchanges.count == 1)
        #expect(Self.authEvents(pulled) == ["anonymous-token ok", "anonymous-access failed 401"])
        // The registry saw: no token, the anonymous token (refused), the identity's token.
        let manifests = s.acr.front.accessLog.filter { $0.contains("/manifests/") }
        #expect(manifests.map { $0.split(separator: " ").last ?? "" } == ["401", "401", "200"], "\(manifests)")
    }

    /// Four pulls start together against a registry without anonymous access: the realm is asked
    /// anonymously once, IMDS once, the exchange once.
    @Test func pullsThatStartTogetherAskAnonymouslyOnce() async throws {
        let s = try await setup("anon-together")
        let fetcher = s.fetcher, reference = s.reference, fileName = fileName, work = s.work
        let digests = try await withThrowingTaskGroup(of: SHA256Digest.self) { group in
            for lane in 0..<4 {
                group.addTask { try await pull(fetcher, reference, fileName: fileName, into: work, name: "lane\(lane)").digest }
            }
            return try await group.reduce(into: [SHA256Digest]()) { $0.append($1) }
        }
        #expect(digests.count == 4)
        #expect(Set(digests.map(\.hex)) == [try Files.sha256(s.file)])
        #expect(Self.anonymousRequests(s.acr).count == 1, "\(s.acr.tokenServer.requests.map(\.status))")
        #expect(s.imds.calls.count == 1)
        #expect(s.acr.exchanges.count == 1)
    }

    /// A store that tries anonymous first and has an identity token for any host.
    struct IdentityFirstStore: CredentialStore {
        var anonymousFirst: Bool { true }
        func credential(for host: String) async throws -> Credential? { .identityToken("identity-refresh") }
    }

    /// A registry that answers an anonymous token with 403 (no challenge) rather than 401: refused all the same.
    @Test func a403ToTheAnonymousTokenLeadsToTheIdentity() async throws {
        let work = try TemporaryDirectory("anon-403")
        let realm = try StubHTTPServer { request in
            request.method == "POST" ? .json(["access_token": "identity-token"]) : .json(["token": "anonymous-token"])
        }
        let realmURL = realm.url
        let registry = try StubHTTPServer { request in
            switch request.header("Authorization") {
            case "Bearer identity-token":
                if request.path.hasSuffix("/manifests/v1") {
                    return StubResponse(status: 200, headers: [("Content-Type", MediaType.ociManifest)], body: RegistryStubTests.manifest())
                }
                return StubResponse(status: 200, body: RegistryStubTests.blob)
            case "Bearer anonymous-token":
                return .json(["errors": [["code": "DENIED"]]], status: 403)
            default:
                return StubResponse(status: 401, headers: [("WWW-Authenticate", #"Bearer realm="\#(realmURL)/token",service="stub""#)])
            }
        }
        let pulled = try await pull(.make(credentials: IdentityFirstStore()), "127.0.0.1:\(registry.port)/pkgs/thing:v1",
                                    fileName: "pkg.zip", into: work)
        #expect(pulled.digest.description == RegistryStubTests.blobDigest)
        #expect(realm.requests.map(\.method) == ["GET", "POST"])
        #expect(Self.authEvents(pulled) == ["anonymous-token ok", "anonymous-access failed 403"])
    }
}
