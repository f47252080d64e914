import Foundation
import Pipeline
import Testing
import TestSupport
@testable import SourcesORAS

/// Authentication against real registries: htpasswd Basic over TLS, and the token flow with a
/// token server whose JWTs the registry verifies.
@Suite(.offPool) struct RegistryAuthTests {
    let repository = "aks/packages/azure/azure-vnet-cni"
    let fileName = "azure-vnet-cni-windows-amd64-v1.6.20.zip"

    /// An open registry to push into, and the pushed file's path.
    func seeded(_ work: TemporaryDirectory, size: Int = 1 << 20) throws -> (TestRegistry, String) {
        let seed = try TestRegistry()
        let file = try packageFile(fileName, size: size, seed: 5, in: work)
        try seed.pushWithORAS(file, repository: repository, tag: "v1.6.20")
        return (seed, file)
    }

    @Test func tokenFlowAsksOnceForThePullScopeAndReusesTheToken() async throws {
        let work = try TemporaryDirectory("token")
        let (seed, file) = try seeded(work)
        let issuer = try TokenServer(users: ["alice": "alice-pw"])
        let registry = try TestRegistry(auth: .token(issuer), root: seed.root)
        let fetcher = ORASFetcher.make(credentials: StaticCredentialStore(.basic(username: "alice", password: "alice-pw")))
        let reference = "\(registry.host)/\(repository):v1.6.20"

        let first = try await pull(fetcher, reference, fileName: fileName, into: work, name: "one")
        let second = try await pull(fetcher, reference, fileName: fileName, into: work, name: "two")
        #expect(first.digest.hex == (try Files.sha256(file)))
        #expect(second.digest == first.digest)
        // One token for manifest + blob, twice over: cached per host and scope for the process.
        let requests = issuer.requests
        #expect(requests.count == 1)
        #expect(requests.first?.method == "GET")
        #expect(requests.first?.scopes == ["repository:\(repository):pull"])
        #expect(requests.first?.service == issuer.service)
        #expect(requests.first?.user == "alice")
    }

    @Test func identityTokenIsTradedWithARefreshTokenPOST() async throws {
        let work = try TemporaryDirectory("token-refresh")
        let (seed, _) = try seeded(work)
        let issuer = try TokenServer(refreshTokens: ["refresh-abc": "alice"], tokenField: "access_token")
        let registry = try TestRegistry(auth: .token(issuer), root: seed.root)
        let fetcher = ORASFetcher.make(credentials: StaticCredentialStore(.identityToken("refresh-abc")))
        _ = try await pull(fetcher, "\(registry.host)/\(repository):v1.6.20", fileName: fileName, into: work)
        #expect(issuer.requests.map(\.method) == ["POST"])
        #expect(issuer.requests.first?.grantType == "refresh_token")
        #expect(issuer.requests.first?.scopes == ["repository:\(repository):pull"])
        #expect(issuer.requests.first?.hadAuthorization == false)
    }

    @Test func aStaleCachedTokenIsFetchedAgainOnce() async throws {
        let work = try TemporaryDirectory("token-stale")
        let (seed, _) = try seeded(work)
        let issuer = try TokenServer(users: ["alice": "alice-pw"])
        let registry = try TestRegistry(auth: .token(issuer), root: seed.root)
        let tokens = TokenCache()
        await tokens.store("not-a-valid-jwt", for: TokenCache.Key(host: registry.host, scopes: ["repository:\(repository):pull"]),
                           lifetime: .seconds(300))
        let fetcher = ORASFetcher.make(credentials: StaticCredentialStore(.basic(username: "alice", password: "alice-pw")), tokens: tokens)
        _ = try await pull(fetcher, "\(registry.host)/\(repository):v1.6.20", fileName: fileName, into: work)
        #expect(issuer.requests.count == 1)
    }

    @Test func refusedCredentialsOrAnonymousAreUnauthorizedWithoutSecrets() async throws {
        let work = try TemporaryDirectory("token-denied")
        let (seed, _) = try seeded(work)
        let issuer = try TokenServer(users: ["alice": "alice-pw"])
        let registry = try TestRegistry(auth: .token(issuer), root: seed.root)
        let reference = "\(registry.host)/\(repository):v1.6.20"

        let wrong = await pkgfetchError {
            _ = try await pull(.make(credentials: StaticCredentialStore(.basic(username: "alice", password: "WRONG-pw-123"))),
                               reference, fileName: fileName, into: work)
        }
        #expect(wrong?.kind == .registryUnauthorized)
        #expect(wrong?.retryable == false)
        #expect(wrong?.message.contains("WRONG-pw-123") == false)
        #expect(wrong?.message.contains("user 'alice'") == true)

        let anonymous = await pkgfetchError { _ = try await pull(.make(), reference, fileName: fileName, into: work) }
        #expect(anonymous?.kind == .registryUnauthorized)
    }

    @Test func basicAuthOverTLSWithAGeneratedCA() async throws {
        let work = try TemporaryDirectory("basic-tls")
        let (seed, file) = try seeded(work)
        let ca = try TestCA()
        let registry = try TestRegistry(auth: .htpasswd(users: ["bob": "bob-pw"]), tls: ca, root: seed.root)
        let https = RegistrySchemePolicy(httpsHosts: [registry.host])
        let reference = "\(registry.host)/\(repository):v1.6.20"

        let pulled = try await pull(.make(credentials: StaticCredentialStore(.basic(username: "bob", password: "bob-pw")), schemes: https,
                                          caFile: ca.certificatePath), reference, fileName: fileName, into: work)
        #expect(pulled.digest.hex == (try Files.sha256(file)))

        let wrong = await pkgfetchError {
            _ = try await pull(.make(credentials: StaticCredentialStore(.basic(username: "bob", password: "nope-secret")), schemes: https,
                                     caFile: ca.certificatePath), reference, fileName: fileName, into: work, name: "wrong")
        }
        #expect(wrong?.kind == .registryUnauthorized)
        #expect(wrong?.message.contains("nope-secret") == false)

        let none = await pkgfetchError {
            _ = try await pull(.make(schemes: https, caFile: ca.certificatePath), reference, fileName: fileName, into: work, name: "none")
        }
        #expect(none?.kind == .registryUnauthorized)
        #expect(none?.message.contains("no credentials are configured") == true)

        // Without the CA the certificate is not trusted: a TLS failure, not retried.
        let untrusted = await pkgfetchError {
            _ = try await pull(.make(credentials: StaticCredentialStore(.basic(username: "bob", password: "bob-pw")), schemes: https),
                               reference, fileName: fileName, into: work, name: "untrusted")
        }
        #expect(untrusted?.kind == .orasPullFailed)
        #expect(untrusted?.retryable == false)
    }

    @Test func plainHTTPRealmForAnHTTPSRegistryIsRefused() async throws {
        let work = try TemporaryDirectory("realm-downgrade")
        let (seed, _) = try seeded(work)
        let ca = try TestCA()
        let issuer = try TokenServer(users: ["alice": "alice-pw"])   // its realm is http://127.0.0.1:…
        let registry = try TestRegistry(auth: .token(issuer), tls: ca, root: seed.root)
        let error = await pkgfetchError {
            _ = try await pull(.make(credentials: StaticCredentialStore(.basic(username: "alice", password: "alice-pw")),
                                     schemes: RegistrySchemePolicy(httpsHosts: [registry.host]), caFile: ca.certificatePath),
                               "\(registry.host)/\(repository):v1.6.20", fileName: fileName, into: work)
        }
        #expect(error?.kind == .registryUnauthorized)
        #expect(error?.message.contains("plain HTTP realm") == true)
        #expect(issuer.requests.isEmpty)
    }
}
