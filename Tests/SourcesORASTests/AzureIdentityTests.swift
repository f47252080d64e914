import Foundation
import Pipeline
import SourcesHTTP
import Testing
import TestSupport
@testable import SourcesORAS

/// The managed-identity login to an Azure Container Registry, below the CLI: the IMDS client against
/// an IMDS stand-in, and the credential store driving real pulls from the real registry behind an
/// ACR stand-in (nginx front, `/oauth2/exchange` and `/oauth2/token` stand-ins, RS256 tokens).
@Suite(.offPool) struct AzureIdentityTests {
    let repository = "aks/packages/azure/azure-vnet-cni"
    let fileName = "azure-vnet-cni-windows-amd64-v1.6.20.zip"
    let clientID = "11111111-2222-3333-4444-555555555555"
    let tenant = "99999999-8888-7777-6666-555555555555"
    static let acrResource = ManagedIdentityCredentialStore.registryResource
    static let armResource = ManagedIdentityCredentialStore.managementResource

    // MARK: refresh-token claims

    static func jwt(_ payload: [String: Any]) -> String {
        func encode(_ object: Any) -> String {
            let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
            return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        return encode(["alg": "RS256", "typ": "JWT"]) + "." + encode(payload) + ".c2lnbmF0dXJl"
    }

    @Test func refreshTokenClaimsSayWhetherAPullIsAllowed() throws {
        let rbac = try #require(RefreshTokenClaims(jwt: Self.jwt(["exp": 2_000_000_000, "permissions": ["actions": ["read"], "notActions": []]])))
        #expect(rbac.allowsPull == true)
        #expect(rbac.expires == Date(timeIntervalSince1970: 2_000_000_000))
        #expect(RefreshTokenClaims(jwt: Self.jwt(["permissions": ["actions": ["metadata_read", "write"]]]))?.allowsPull == false)
        #expect(RefreshTokenClaims(jwt: Self.jwt(["permissions": [String: Any]()]))?.allowsPull == false)
        // Owner and Contributor assignments carry "*".
        #expect(RefreshTokenClaims(jwt: Self.jwt(["permissions": ["actions": ["*"]]]))?.allowsPull == true)
        // ABAC: no permissions claim, nothing to check in advance.
        let abac = try #require(RefreshTokenClaims(jwt: Self.jwt(["exp": 1_900_000_000, "grant_type": "refresh_token"])))
        #expect(abac.allowsPull == nil)
        #expect(abac.actions == nil)
        // Not a JWT (or not JSON inside): nothing known, nothing refused.
        #expect(RefreshTokenClaims(jwt: "opaque-refresh-token") == nil)
        #expect(RefreshTokenClaims(jwt: "a.b.c") == nil)
    }

    // MARK: the additions to CredentialStore

    /// Counts lookups and records invalidations; answers `.identityToken("t<n>")` for the n-th lookup.
    final class CountingStore: CredentialStore, @unchecked Sendable {
        let answersExpire: Bool
        private let lock = NSLock()
        private var lookups = 0
        private var refused: [Credential] = []
        init(answersExpire: Bool) { self.answersExpire = answersExpire }
        var asked: Int { lock.withLock { lookups } }
        var invalidated: [Credential] { lock.withLock { refused } }
        func credential(for host: String) async throws -> Credential? {
            .identityToken("t\(lock.withLock { lookups += 1; return lookups })")
        }
        func invalidate(_ credential: Credential, for host: String) async { lock.withLock { refused.append(credential) } }
    }

    @Test func cachingRemembersStableAnswersUntilRefusedAndPassesExpiringOnesThrough() async throws {
        let stable = CountingStore(answersExpire: false)
        let cache = CachingCredentialStore(stable)
        #expect(try await cache.credential(for: "acr.example") == .identityToken("t1"))
        #expect(try await cache.credential(for: "ACR.example", deadline: .now + .seconds(5)) == .identityToken("t1"))
        #expect(stable.asked == 1)
        await cache.invalidate(.identityToken("not-this-one"), for: "acr.example")
        #expect(try await cache.credential(for: "acr.example") == .identityToken("t1"))
        await cache.invalidate(.identityToken("t1"), for: "acr.example")
        #expect(try await cache.credential(for: "acr.example") == .identityToken("t2"))
        #expect(stable.invalidated == [.identityToken("not-this-one"), .identityToken("t1")])

        // A chain holding a store whose answers expire is asked every time, and hears of refusals.
        let expiring = CountingStore(answersExpire: true)
        let chained = CachingCredentialStore(CredentialChain([AnonymousCredentialStore(), expiring]))
        #expect(chained.answersExpire)
        _ = try await chained.credential(for: "acr.example")
        _ = try await chained.credential(for: "acr.example", deadline: nil)
        #expect(expiring.asked == 2)
        await chained.invalidate(.identityToken("t2"), for: "acr.example")
        #expect(expiring.invalidated == [.identityToken("t2")])
    }

    @Test func anIdentityTokenNoStoreCanRenewIsRefusedWithoutAskingTheRealmAgain() async throws {
        let work = try TemporaryDirectory("static-refresh")
        let seed = try TestRegistry()
        try seed.pushWithORAS(try packageFile(fileName, size: 4096, seed: 62, in: work), repository: repository, tag: "v1.6.20")
        let issuer = try TokenServer(refreshTokens: [:], tokenField: "access_token")
        let registry = try TestRegistry(auth: .token(issuer), root: seed.root)
        let error = await pkgfetchError {
            _ = try await pull(.make(credentials: StaticCredentialStore(.identityToken("revoked-refresh-token"))),
                               "\(registry.host)/\(repository):v1.6.20", fileName: fileName, into: work)
        }
        #expect(error?.kind == .registryUnauthorized)
        #expect(error?.message.contains("revoked-refresh-token") == false)
        #expect(issuer.requests.map(\.status) == [401])
    }

    // MARK: IMDS client

    @Test func imdsIsAskedDirectlyWithTheMetadataHeaderAndItsStringExpiry() async throws {
        let imds = try IMDSStandIn(clientID: clientID)
        let client = IMDSClient(transport: CurlTransport(), endpoint: imds.endpoint, clientID: clientID)
        let token = try await client.accessToken(resource: Self.acrResource, deadline: .now + .seconds(120))
        #expect(imds.issuedTokens == [token.value])
        #expect(token.lifetime == .seconds(3600))
        let call = try #require(imds.calls.first)
        #expect(imds.calls.count == 1)
        #expect(call.method == "GET")
        #expect(call.path == IMDSStandIn.path)
        #expect(call.metadata == "true")
        #expect(call.apiVersion == "2018-02-01")
        #expect(call.resource == Self.acrResource)
        #expect(call.clientID == clientID)
        #expect(call.forwardedFor == nil)
    }

    @Test func imdsNotReadyYetIsTriedAgainWithBackoff() async throws {
        let imds = try IMDSStandIn(clientID: clientID)
        imds.script(Self.acrResource, [.failure(status: 503, error: "service_unavailable", description: "IMDS is starting"),
                                       .failure(status: 404, error: "not_found", description: "identity not yet assigned"), .token])
        let client = IMDSClient(transport: CurlTransport(), endpoint: imds.endpoint, clientID: clientID)
        let started = ContinuousClock.now
        _ = try await client.accessToken(resource: Self.acrResource, deadline: .now + .seconds(120))
        #expect(imds.calls.map(\.status) == [503, 404, 200])
        // Backoff from 500 ms (jitter 20%): at least 0.4 + 0.8 s between the three calls.
        #expect(started.duration(to: .now) >= .milliseconds(1200))
    }

    @Test func anUnknownIdentityIsNotTriedAgain() async throws {
        let imds = try IMDSStandIn(clientID: clientID)
        let client = IMDSClient(transport: CurlTransport(), endpoint: imds.endpoint, clientID: "00000000-0000-0000-0000-000000000000")
        do {
            _ = try await client.accessToken(resource: Self.acrResource, deadline: .now + .seconds(120))
            Issue.record("expected a failure")
        } catch let failure as StepRetry.Exhausted {
            #expect(failure.last.kind == .identityTokenFailed)
            #expect(failure.tries == 1)
            #expect(failure.summary.contains("HTTP 400 (invalid_request: Identity not found)"))
        }
        #expect(imds.calls.count == 1)
    }

    @Test(.alone) func imdsUnreachableEndsAt41WithinTheDeadline() async throws {
        let unbound = try Ports.free()
        // Backoff from 2 s: left to run their course, the tries of both resources would take 44 s or more.
        let slowBackoff = RetryPolicy(attempts: 5, initialDelay: .seconds(2), multiplier: 2, maxDelay: .seconds(8), jitter: 0.2,
                                      perAttemptTimeout: .seconds(20))
        let store = ManagedIdentityCredentialStore(
            configuration: .init(registryHost: "127.0.0.1:1", registryScheme: "http", clientID: clientID,
                                 imdsEndpoint: "http://127.0.0.1:\(unbound)\(IMDSStandIn.path)", imdsRetry: slowBackoff),
            transport: CurlTransport())
        let started = ContinuousClock.now
        let error = await pkgfetchError { _ = try await store.credential(for: "127.0.0.1:1", deadline: .now + .seconds(3)) }
        let elapsed = started.duration(to: .now)
        #expect(error?.kind == .identityTokenFailed)
        #expect(error?.retryable == true)
        #expect(error?.message.contains("no token from IMDS") == true, "\(error?.message ?? "")")
        // The retries stopped for the deadline (the message says so; how a wait is weighed against it is
        // RetryDecisionTests' business, on a virtual clock): the bound tells the 3 s deadline from the
        // 44 s course, with room for a loaded machine.
        #expect(error?.message.contains("stopped at the deadline") == true)
        #expect(elapsed < .seconds(30), "\(elapsed)")
        // Other hosts get nothing from this store, and no login.
        #expect(try await store.credential(for: "other.example", deadline: nil) == nil)
    }

    // MARK: the store in real pulls

    /// An open registry holding the CNI zip, an IMDS stand-in and an ACR stand-in over the same storage.
    struct Setup {
        let work: TemporaryDirectory
        let seed: TestRegistry
        let file: String
        let imds: IMDSStandIn
        let acr: ACRStandIn
        let store: ManagedIdentityCredentialStore
        let fetcher: ORASFetcher
        var reference: String { "\(acr.host)/aks/packages/azure/azure-vnet-cni:v1.6.20" }
    }

    /// `tls`: the ACR stand-in speaks HTTPS, as ACR does (needed for the ARM resource, whose token
    /// never crosses plain HTTP). `anonymousPull`: its realm hands out anonymous pull tokens.
    /// Runs off the cooperative pool: it waits for processes (oras push, openssl, the registry, nginx),
    /// and the tests that measure time in-process must not wait behind it.
    func setup(_ label: String, accessTokenLifetime: Int = 300, tls: Bool = false, anonymousPull: Bool = false,
               resources: [String]? = nil) async throws -> Setup {
        try await offPool { [self] in
            try makeSetup(label, accessTokenLifetime: accessTokenLifetime, tls: tls, anonymousPull: anonymousPull, resources: resources)
        }
    }

    private func makeSetup(_ label: String, accessTokenLifetime: Int, tls: Bool, anonymousPull: Bool,
                           resources: [String]?) throws -> Setup {
        let work = try TemporaryDirectory(label)
        let seed = try TestRegistry()
        let file = try packageFile(fileName, size: 1 << 20, seed: 61, in: work)
        try seed.pushWithORAS(file, repository: repository, tag: "v1.6.20")
        let imds = try IMDSStandIn(clientID: clientID)
        let ca = tls ? try TestCA() : nil
        let acr = try ACRStandIn(root: seed.root, imds: imds, tenant: tenant, accessTokenLifetime: accessTokenLifetime,
                                 anonymousPull: anonymousPull, tls: ca)
        let store = ManagedIdentityCredentialStore(
            configuration: .init(registryHost: acr.host, registryScheme: acr.scheme, clientID: clientID, tenantID: tenant,
                                 imdsEndpoint: imds.endpoint, resources: resources),
            transport: CurlTransport(options: .init(caFile: ca?.certificatePath)))
        let fetcher = ORASFetcher.make(credentials: store, schemes: RegistrySchemePolicy(httpsHosts: tls ? [acr.host] : []),
                                       caFile: ca?.certificatePath)
        return Setup(work: work, seed: seed, file: file, imds: imds, acr: acr, store: store, fetcher: fetcher)
    }

    @Test func oneLoginServesEveryPullOfTheProcess() async throws {
        // Registry access tokens live 2 s (used for 1 s), so the second pull goes back to the realm.
        let s = try await setup("mi-reuse", accessTokenLifetime: 2)
        let first = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work, name: "one")
        try await Task.sleep(for: .milliseconds(1500))
        let second = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work, name: "two")
        #expect(first.digest.hex == (try Files.sha256(s.file)))
        #expect(second.digest == first.digest)
        #expect(s.imds.calls.count == 1)
        #expect(s.acr.exchanges.count == 1)
        // The realm refuses an anonymous token once (learned for the process), then trades the refresh token.
        let realm = s.acr.tokenServer.requests
        #expect(realm.map(\.grantType) == [nil, "refresh_token", "refresh_token"])
        #expect(realm.map(\.status) == [401, 200, 200])
        #expect(Set(realm.compactMap(\.refreshToken)) == Set(s.acr.refreshTokens))
        #expect(realm.last?.scopes == ["repository:\(repository):pull"])
        #expect(await s.store.loginCount == 1)
        // What the exchange was sent.
        let exchange = try #require(s.acr.exchanges.first)
        #expect(exchange.grantType == "access_token")
        #expect(exchange.service == s.acr.host)
        #expect(exchange.tenant == tenant)
        #expect(exchange.resource == Self.acrResource)
    }

    @Test func anExpiringRefreshTokenIsRenewedBeforeItIsUsed() async throws {
        let s = try await setup("mi-expiry", accessTokenLifetime: 2)
        s.acr.setRefreshTokenLifetime(3)   // `exp` 3 s ahead: used for 1.5 s
        _ = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work, name: "one")
        try await Task.sleep(for: .milliseconds(2000))
        _ = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work, name: "two")
        #expect(s.imds.calls.count == 2)
        #expect(s.acr.exchanges.count == 2)
        let presented = s.acr.tokenServer.requests.compactMap(\.refreshToken)
        #expect(presented == s.acr.refreshTokens)
        #expect(Set(presented).count == 2)
        // Refused never: it was renewed before the realm had to say no.
        #expect(s.acr.tokenServer.requests.filter { $0.grantType == "refresh_token" }.allSatisfy { $0.status == 200 })
    }

    @Test func aRefreshTokenTheRealmRefusesIsRenewedOnce() async throws {
        let s = try await setup("mi-revoked", accessTokenLifetime: 2)
        _ = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work, name: "one")
        s.acr.tokenServer.revokeRefreshTokens()
        try await Task.sleep(for: .milliseconds(1500))
        let second = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work, name: "two")
        #expect(second.digest.hex == (try Files.sha256(s.file)))
        #expect(s.acr.tokenServer.requests.map(\.status) == [401, 200, 401, 200])   // anonymous, refresh, revoked, renewed
        #expect(s.imds.calls.count == 2)
        #expect(s.acr.exchanges.count == 2)
        #expect(await s.store.loginCount == 2)

        // Refused again after the renewal: registry-unauthorized, no third login.
        s.acr.tokenServer.revokeRefreshTokens()
        s.acr.refuseExchanges()
        try await Task.sleep(for: .milliseconds(1500))
        let error = await pkgfetchError { _ = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work, name: "three") }
        #expect(error?.kind == .registryUnauthorized)
        #expect(await s.store.loginCount == 2)
    }

    @Test func aTokenTheRegistryRefusesIsMintedAgainFromARenewedLogin() async throws {
        let s = try await setup("mi-stale-grant")
        // The first refresh token stands for a principal whose pull was taken away: the realm still
        // mints a token, the registry refuses it.
        s.acr.nextRefreshTokenUsers(["stale-grant", "managed-identity"])
        s.acr.tokenServer.denyPull(to: "stale-grant")
        let pulled = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work)
        #expect(pulled.digest.hex == (try Files.sha256(s.file)))
        #expect(s.imds.calls.count == 2)
        #expect(s.acr.exchanges.count == 2)
        #expect(s.acr.tokenServer.requests.map(\.user) == [nil, "stale-grant", "managed-identity"])
    }

    @Test func exchangeHiccupsAreTriedAgainWithinItsBudget() async throws {
        let s = try await setup("mi-exchange-retry")
        s.acr.failNextExchanges([503, 502])
        _ = try await pull(s.fetcher, s.reference, fileName: fileName, into: s.work)
        #expect(s.acr.exchanges.map(\.status) == [503, 502, 200])
        #expect(s.imds.calls.count == 1)

        // Four failures in a row spend the three tries; then the ARM resource gets its own three (over https).
        let t = try await setup("mi-exchange-exhausted", tls: true)
        t.acr.failNextExchanges([503, 503, 503, 503, 503, 503])
        let error = await pkgfetchError { _ = try await pull(t.fetcher, t.reference, fileName: fileName, into: t.work) }
        #expect(error?.kind == .orasPullFailed)
        #expect(error?.retryable == true)
        #expect(t.acr.exchanges.map(\.resource) == [Self.acrResource, Self.acrResource, Self.acrResource,
                                                    Self.armResource, Self.armResource, Self.armResource])
    }

    @Test func concurrentLookupsShareOneLogin() async throws {
        let s = try await setup("mi-concurrent")
        let host = s.acr.host
        let store = s.store
        let answers = try await withThrowingTaskGroup(of: Credential?.self) { group in
            for _ in 0..<4 { group.addTask { try await store.credential(for: host, deadline: .now + .seconds(30)) } }
            return try await group.reduce(into: [Credential?]()) { $0.append($1) }
        }
        #expect(answers.count == 4)
        #expect(answers.allSatisfy { $0 != nil && $0 == answers.first! })
        #expect(s.imds.calls.count == 1)
        #expect(s.acr.exchanges.count == 1)
        // Invalidating another token changes nothing; invalidating this one makes the next lookup log in again.
        await store.invalidate(.identityToken("some-other-token"), for: host)
        _ = try await store.credential(for: host, deadline: nil)
        #expect(s.acr.exchanges.count == 1)
        let used = try #require(answers.first ?? nil)
        await store.invalidate(used, for: host)
        let renewed = try await store.credential(for: host, deadline: nil)
        #expect(renewed != used)
        #expect(s.acr.exchanges.count == 2)
    }

    // MARK: the ARM resource and plain HTTP

    /// Over plain HTTP only the registry resource's token is sent to the exchange; the ARM token,
    /// which manages whatever the identity may manage, is not even asked of IMDS. Over https the
    /// same failure falls back to ARM, as the scripts do.
    @Test func anARMTokenIsNeverSentOverPlainHTTP() async throws {
        let s = try await setup("mi-arm-plain")
        s.acr.refuseTokens(for: Self.acrResource)
        let error = await pkgfetchError {
            _ = try await s.store.credential(for: s.acr.host, deadline: .now + .seconds(30))
        }
        #expect(error?.kind == .registryUnauthorized)
        #expect(error?.message.contains("for \(Self.armResource): not asked, its token is never sent over plain HTTP") == true,
                "\(error?.message ?? "")")
        #expect(s.imds.calls.map(\.resource) == [Self.acrResource])
        #expect(s.acr.exchanges.map(\.resource) == [Self.acrResource])

        // Only ARM asked for (--identity-resource): nothing is asked, and trying again changes nothing.
        let only = try await setup("mi-arm-only-plain", resources: [Self.armResource])
        let refused = await pkgfetchError { _ = try await only.store.credential(for: only.acr.host, deadline: .now + .seconds(30)) }
        #expect(refused?.kind == .identityTokenFailed)
        #expect(refused?.retryable == false)
        #expect(only.imds.calls.isEmpty)
        #expect(only.acr.exchanges.isEmpty)

        let t = try await setup("mi-arm-tls", tls: true)
        t.acr.refuseTokens(for: Self.acrResource)
        let pulled = try await pull(t.fetcher, t.reference, fileName: fileName, into: t.work)
        #expect(pulled.digest.hex == (try Files.sha256(t.file)))
        #expect(t.acr.exchanges.map(\.resource) == [Self.acrResource, Self.armResource])
        #expect(t.acr.exchanges.map(\.status) == [401, 200])
    }

    // MARK: numbers a server sends

    /// `exp` and `expires_in` as a hostile server might send them: clamped, never trapping.
    @Test func hugeOrNonsenseExpiryNumbersAreClamped() async throws {
        let store = ManagedIdentityCredentialStore(configuration: .init(registryHost: "acr.example", clientID: clientID),
                                                   transport: CurlTransport())
        let login = ACRLogin(configuration: store.configuration, events: EventEmitter(),
                             imds: IMDSClient(transport: CurlTransport(), clientID: clientID),
                             exchange: ACRTokenExchange(transport: CurlTransport()))
        let day = ContinuousClock.now + .seconds(86_400)
        for exp: Any in [1e300, Double.greatestFiniteMagnitude, Int64.max, UInt64.max, "1e300", "9999999999999999999999"] {
            let claims = try #require(RefreshTokenClaims(jwt: Self.jwt(["exp": exp])), "\(exp)")
            let renewAt = login.renewAt(claims.expires)
            #expect(renewAt <= day && renewAt > .now + .seconds(86_000), "\(exp)")
        }
        for exp: Any in [-1e300, -5, 0, Int64.min] {
            let renewAt = login.renewAt(try #require(RefreshTokenClaims(jwt: Self.jwt(["exp": exp]))).expires)
            #expect(renewAt <= .now, "\(exp): long past, renewed at once")
        }
        for exp: Any in ["NaN", "inf", "-inf", "soon", [1], ["n": 1]] {
            let claims = try #require(RefreshTokenClaims(jwt: Self.jwt(["exp": exp])), "\(exp)")
            #expect(claims.expires == nil, "\(exp)")
            #expect(login.renewAt(claims.expires) > .now + .seconds(800), "\(exp): the 15-minute default")
        }
        // An exp too big for JSON's doubles is not a JWT payload anyone can read: nothing known, no trap.
        let overflow = "eyJhbGciOiJSUzI1NiJ9." + Data(#"{"exp":1e400}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "") + ".c2ln"
        #expect(RefreshTokenClaims(jwt: overflow)?.expires == nil)
    }

    /// The realm's and IMDS's `expires_in` (as raw JSON): huge, negative, a string, nonsense.
    @Test(arguments: [
        ("1e300", 86_400), ("9223372036854775807", 86_400), ("123456789012345678901234567890", 86_400), (#""1e300""#, 86_400),
        ("-1e300", 1), ("-7", 1), (#""NaN""#, nil), (#""soon""#, nil), ("null", nil), ("300", 300), (#""3600""#, 3600),
    ] as [(String, Int?)])
    func tokenLifetimesAreClamped(expiresIn: String, seconds: Int?) async throws {
        let answer = Data(#"{"token":"t","access_token":"t","expires_in":\#(expiresIn)}"#.utf8)
        let server = try StubHTTPServer { _ in StubResponse(status: 200, headers: [("Content-Type", "application/json")], body: answer) }
        let transport = CurlTransport()
        let token = try await TokenService(transport: transport).token(
            challenge: AuthChallenge(scheme: .bearer, parameters: ["realm": "\(server.url)/token"]), registryScheme: "http",
            scopes: [], credential: nil, deadline: .now + .seconds(10), what: "test")
        #expect(token.lifetime == .seconds(seconds ?? 60))

        let imds = IMDSClient(transport: transport, endpoint: "\(server.url)\(IMDSStandIn.path)", clientID: clientID)
        let access = try await imds.accessToken(resource: Self.acrResource, deadline: .now + .seconds(10))
        #expect(access.lifetime == seconds.map { .seconds($0) })
    }
}
