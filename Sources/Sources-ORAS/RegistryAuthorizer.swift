import Pipeline
import SourcesHTTP

/// What one registry request needs authorization for.
public struct AuthTarget: Sendable {
    /// `host[:port]`: credentials and tokens are looked up by it.
    public var host: String
    /// `http` or `https`: how the registry is spoken to (a token realm may not be weaker).
    public var scheme: String
    /// e.g. `["repository:aks/packages/azure/azure-vnet-cni:pull"]`.
    public var scopes: [String]

    public init(host: String, scheme: String, scopes: [String]) {
        self.host = host
        self.scheme = scheme
        self.scopes = scopes
    }

    public static func pull(host: String, scheme: String, repository: String) -> AuthTarget {
        AuthTarget(host: host, scheme: scheme, scopes: ["repository:\(repository):pull"])
    }
}

/// How a request attempt ended as far as authorization goes.
public enum AuthOutcome<Value: Sendable>: Sendable {
    case done(Value)
    /// HTTP 401: the head carries the `WWW-Authenticate` challenge.
    case unauthorized(HTTPResponseHead)
}

/// Answers registry challenges as the Docker and oras clients do: anonymous first; on 401, Basic
/// with the host's credential, or a Bearer token from the challenge's realm (cached per host and
/// scope). A cached token the registry refuses is fetched anew once; a fresh token or a credential
/// refused ends in `registry-unauthorized`. An identity token (a refresh token, e.g. from an Azure
/// managed-identity login) is renewed once when the realm refuses it or the registry refuses a token
/// minted from it: the store is told to forget it (`invalidate`) and asked for a new one.
/// Secrets go into headers only, never into messages.
public struct RegistryAuthorizer: Sendable {
    public let credentials: any CredentialStore
    public let tokens: TokenCache
    public let tokenService: TokenService

    public init(credentials: any CredentialStore, tokens: TokenCache, tokenService: TokenService) {
        self.credentials = credentials is CachingCredentialStore ? credentials : CachingCredentialStore(credentials)
        self.tokens = tokens
        self.tokenService = tokenService
    }

    /// Where the Authorization header in use came from, which decides what a 401 means. A fresh
    /// token remembers the credential it was minted with.
    private enum Origin { case none, basic, cachedToken(String), freshToken(String, Credential?) }

    /// Runs `attempt` with an `Authorization` value (nil: anonymous), answering 401s.
    public func perform<Value: Sendable>(_ target: AuthTarget, deadline: ContinuousClock.Instant?, what: String,
                                         _ attempt: (String?) async throws -> AuthOutcome<Value>) async throws -> Value {
        let key = TokenCache.Key(host: target.host, scopes: target.scopes)
        // Whether an identity token was renewed already for this request: once at most.
        var renewed = false
        var (authorization, origin) = try await upFront(target, key: key, deadline: deadline, renewed: &renewed, what: what)
        // Anonymous (or a cached token) → credential or token → (a cached token refused) fresh token →
        // (refused, minted from an identity token) one from a renewed identity token: at most four tries.
        for _ in 0..<4 {
            let head: HTTPResponseHead
            switch try await attempt(authorization) {
            case .done(let value): return value
            case .unauthorized(let refused): head = refused
            }
            let values = head.headers.filter { $0.name.caseInsensitiveCompare("WWW-Authenticate") == .orderedSame }.map(\.value)
            guard let challenge = AuthChallenge.preferred(AuthChallenge.parse(values)) else {
                throw PkgfetchError(.registryUnauthorized, "\(what): HTTP 401 without a Basic or Bearer challenge", status: 401)
            }
            switch (challenge.scheme, origin) {
            case (.basic, .basic):
                throw refusal(target, hadCredential: true, what: what)
            case (.bearer, .freshToken(let refusedToken, let used)):
                guard case .some(.identityToken) = used, let used, !renewed else {
                    throw refusal(target, hadCredential: used != nil, what: what)
                }
                // The registry refused a token minted from an identity token (revoked, or its grant
                // changed): renew the identity token once and mint again.
                renewed = true
                await tokens.invalidate(refusedToken, for: key)
                await credentials.invalidate(used, for: target.host)
                guard let fresh = try await credentials.credential(for: target.host, deadline: deadline), fresh != used else {
                    throw refusal(target, hadCredential: true, what: what)
                }
                let scopes = Array(Set(target.scopes + challenge.scopes)).sorted()
                let token = try await fetchToken(challenge, target: target, scopes: scopes, key: key, deadline: deadline,
                                                 renewed: &renewed, what: what)
                (authorization, origin) = ("Bearer \(token.value)", .freshToken(token.value, token.credential))
            case (.basic, _):
                guard let credential = try await credentials.credential(for: target.host, deadline: deadline) else {
                    throw PkgfetchError(.registryUnauthorized, "\(what): \(target.host) requires a login and no credentials are configured for it (HTTP 401)", status: 401)
                }
                guard let basic = credential.basicAuthorization else {
                    throw PkgfetchError(.registryUnauthorized, "\(what): \(target.host) asks for Basic auth, but its credential is \(credential)", status: 401)
                }
                await tokens.remember(.basic, for: target.host)
                (authorization, origin) = (basic, .basic)
            case (.bearer, _):
                if case .cachedToken(let stale) = origin { await tokens.invalidate(stale, for: key) }
                await tokens.remember(.bearer(challenge), for: target.host)
                let scopes = Array(Set(target.scopes + challenge.scopes)).sorted()
                let token = try await fetchToken(challenge, target: target, scopes: scopes, key: key, deadline: deadline,
                                                 renewed: &renewed, what: what)
                (authorization, origin) = ("Bearer \(token.value)", .freshToken(token.value, token.credential))
            case (.other(let name), _):
                throw PkgfetchError(.registryUnauthorized, "\(what): the registry asks for '\(name)' authentication, which pkgfetch does not speak", status: 401)
            }
        }
        throw PkgfetchError(.registryUnauthorized, "\(what): still HTTP 401 after authenticating", status: 401)
    }

    private func refusal(_ target: AuthTarget, hadCredential: Bool, what: String) -> PkgfetchError {
        let refused = hadCredential
            ? "the registry refused the credentials for \(target.host)"
            : "\(target.host) refused anonymous access and no credentials are configured for it"
        return PkgfetchError(.registryUnauthorized, "\(what): \(refused) (HTTP 401)", status: 401)
    }

    /// The Authorization to start with: a cached token, or what the host asked for before.
    private func upFront(_ target: AuthTarget, key: TokenCache.Key, deadline: ContinuousClock.Instant?,
                         renewed: inout Bool, what: String) async throws -> (String?, Origin) {
        if let token = await tokens.token(for: key) { return ("Bearer \(token)", .cachedToken(token)) }
        switch await tokens.scheme(of: target.host) {
        case .basic:
            if let basic = try await credentials.credential(for: target.host, deadline: deadline)?.basicAuthorization {
                return (basic, .basic)
            }
        case .bearer(let challenge):
            // Same realm, new scope (another repository): ask for the token before the registry has to refuse us.
            let token = try await fetchToken(challenge, target: target, scopes: target.scopes, key: key, deadline: deadline,
                                             renewed: &renewed, what: what)
            return ("Bearer \(token.value)", .cachedToken(token.value))
        case nil:
            break
        }
        return (nil, .none)
    }

    /// A token from the realm, with the credential it was minted with. When the realm refuses an
    /// identity token, the store is told to forget it and asked once for a new one.
    private func fetchToken(_ challenge: AuthChallenge, target: AuthTarget, scopes: [String], key: TokenCache.Key,
                            deadline: ContinuousClock.Instant?, renewed: inout Bool,
                            what: String) async throws -> (value: String, credential: Credential?) {
        var credential = try await credentials.credential(for: target.host, deadline: deadline)
        while true {
            do {
                let token = try await tokenService.token(challenge: challenge, registryScheme: target.scheme, scopes: scopes,
                                                         credential: credential, deadline: deadline, what: what)
                await tokens.store(token.value, for: key, lifetime: token.lifetime)
                return (token.value, credential)
            } catch let refused as PkgfetchError where refused.kind == .registryUnauthorized && (refused.status == 401 || refused.status == 403) {
                guard case .some(.identityToken) = credential, let used = credential, !renewed else { throw refused }
                renewed = true
                await credentials.invalidate(used, for: target.host)
                guard let fresh = try await credentials.credential(for: target.host, deadline: deadline), fresh != used else {
                    throw refused
                }
                credential = fresh
            }
        }
    }
}
