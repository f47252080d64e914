import Foundation
import Pipeline
import SourcesHTTP
import Testing
import TestSupport
@testable import SourcesORAS

/// A credential goes where the registry said and nowhere else: token, exchange and IMDS requests
/// never follow a redirect, a challenge from the host a request was redirected to is not answered,
/// and an ARM token never crosses plain HTTP. Each "elsewhere" server below stands for an attacker's
/// host and must see nothing.
@Suite struct AuthRedirectTests {
    static let refreshSecret = "refresh-secret-7f3a"
    static let password = "registry-password-9c1e"

    /// A server that records everything and answers as a willing token service would.
    static func elsewhere() throws -> StubHTTPServer {
        try StubHTTPServer { _ in .json(["token": "attacker-token", "access_token": "attacker-token", "refresh_token": "x"]) }
    }

    /// A registry stub whose every request is refused with a Bearer challenge naming `realm`.
    static func challengingRegistry(realm: String) throws -> StubHTTPServer {
        try StubHTTPServer { _ in
            StubResponse(status: 401, headers: [("WWW-Authenticate", #"Bearer realm="\#(realm)",service="stub-registry""#)])
        }
    }

    static func everything(_ requests: [StubRequest]) -> String {
        requests.map { "\($0.target) \($0.headers.map { "\($0.name): \($0.value)" }) \(String(decoding: $0.body, as: UTF8.self))" }
            .joined(separator: "\n")
    }

    @Test(arguments: [Credential.identityToken(refreshSecret), .basic(username: "alice", password: password)])
    func aTokenRealmRedirectIsNotFollowed(credential: Credential) async throws {
        let work = try TemporaryDirectory("realm-redirect")
        let attacker = try Self.elsewhere()
        let realm = try StubHTTPServer { _ in StubResponse(status: 307, headers: [("Location", "\(attacker.url)/token")]) }
        let registry = try Self.challengingRegistry(realm: "\(realm.url)/token")
        let error = await pkgfetchError {
            _ = try await pull(.make(credentials: StaticCredentialStore(credential)), "127.0.0.1:\(registry.port)/pkgs/thing:v1",
                               fileName: "pkg.zip", into: work)
        }
        #expect(error?.kind == .registryUnauthorized)
        #expect(error?.status == 307)
        #expect(error?.message.contains("answered with a redirect (HTTP 307), which token requests never follow") == true, "\(error?.message ?? "")")
        #expect(realm.requests.count == 1)
        #expect(attacker.requests.isEmpty, "followed to: \(Self.everything(attacker.requests))")
        for secret in [Self.refreshSecret, Self.password] { #expect(error?.message.contains(secret) == false) }
    }

    @Test func aChallengeFromTheHostAManifestWasRedirectedToIsNotAnswered() async throws {
        let work = try TemporaryDirectory("challenge-redirect")
        let attackerRealm = try Self.elsewhere()
        let attacker = try Self.challengingRegistry(realm: "\(attackerRealm.url)/token")
        let attackerURL = attacker.url
        let registry = try StubHTTPServer { request in
            StubResponse(status: 307, headers: [("Location", attackerURL + request.target)])
        }
        let basic = StaticCredentialStore(.basic(username: "alice", password: Self.password))
        let error = await pkgfetchError {
            _ = try await pull(.make(credentials: basic), "127.0.0.1:\(registry.port)/pkgs/thing:v1", fileName: "pkg.zip", into: work)
        }
        #expect(error?.kind == .registryUnauthorized)
        #expect(error?.message.contains("HTTP 401 from \(attackerURL) after a redirect; 127.0.0.1:\(registry.port)'s credentials are offered to no other host") == true,
                "\(error?.message ?? "")")
        #expect(attacker.requests.count == 1)
        #expect(attackerRealm.requests.isEmpty, "answered: \(Self.everything(attackerRealm.requests))")
        #expect(!Self.everything(attacker.requests).contains(Data("alice:\(Self.password)".utf8).base64EncodedString()))
    }

    @Test func imdsAndTheExchangeDoNotFollowRedirects() async throws {
        let attacker = try Self.elsewhere()
        let redirecting = try StubHTTPServer { request in StubResponse(status: 307, headers: [("Location", attacker.url + request.target)]) }
        // One attempt each; the timeouts only keep a broken client from hanging (a loaded machine can stall seconds).
        let quick = RetryPolicy(attempts: 1, initialDelay: .milliseconds(10), perAttemptTimeout: .seconds(60))

        let imds = IMDSClient(transport: CurlTransport(), endpoint: "\(redirecting.url)\(IMDSStandIn.path)", clientID: "client", retry: quick)
        do {
            _ = try await imds.accessToken(resource: ManagedIdentityCredentialStore.registryResource, deadline: .now + .seconds(60))
            Issue.record("IMDS answered through a redirect")
        } catch let failure as StepRetry.Exhausted {
            #expect(failure.last.kind == .identityTokenFailed)
            #expect(failure.last.status == 307)
        }

        let exchange = ACRTokenExchange(transport: CurlTransport(), retry: quick)
        do {
            _ = try await exchange.refreshToken(registryHost: "127.0.0.1:\(redirecting.port)", scheme: "http", tenantID: nil,
                                                accessToken: "entra-access-token-secret", deadline: .now + .seconds(60))
            Issue.record("the exchange answered through a redirect")
        } catch let failure as StepRetry.Exhausted {
            #expect(failure.last.status == 307)
        }
        #expect(redirecting.requests.count == 2)
        #expect(attacker.requests.isEmpty, "followed to: \(Self.everything(attacker.requests))")
    }
}
