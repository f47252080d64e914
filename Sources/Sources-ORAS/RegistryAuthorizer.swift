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
/// refused ends in `registry-unauthorized`. Secrets go into headers only, never into messages.
public struct RegistryAuthorizer: Sendable {
    public let credentials: any CredentialStore
    public let tokens: TokenCache
    public let tokenService: TokenService

    public init(credentials: any CredentialStore, tokens: TokenCache, tokenService: TokenService) {
        self.credentials = credentials is CachingCredentialStore ? credentials : CachingCredentialStore(credentials)
        self.tokens = tokens
        self.tokenService = tokenService
    }

    /// Where the Authorization header in use came from, which decides what a 401 means.
    private enum Origin { case none, basic, cachedToken(String), freshToken }

    /// Runs `attempt` with an `Authorization` value (nil: anonymous), answering 401s.
    public func perform<Value: Sendable>(_ target: AuthTarget, deadline: ContinuousClock.Instant?, what: String,
                                         _ attempt: (String?) async throws -> AuthOutcome<Value>) async throws -> Value {
        let key = TokenCache.Key(host: target.host, scopes: target.scopes)
        var (authorization, origin) = try await upFront(target, key: key, deadline: deadline, what: what)
        // Anonymous → credential or token → (a cached token refused) fresh token: at most three tries.
        for _ in 0..<3 {
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
            case (.basic, .basic), (.bearer, .freshToken):
                let refused = try await credentials.credential(for: target.host) != nil
                    ? "the registry refused the credentials for \(target.host)"
                    : "\(target.host) refused anonymous access and no credentials are configured for it"
                throw PkgfetchError(.registryUnauthorized, "\(what): \(refused) (HTTP 401)", status: 401)
            case (.basic, _):
                guard let credential = try await credentials.credential(for: target.host) else {
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
                let token = try await fetchToken(challenge, target: target, scopes: scopes, key: key, deadline: deadline, what: what)
                (authorization, origin) = ("Bearer \(token)", .freshToken)
            case (.other(let name), _):
                throw PkgfetchError(.registryUnauthorized, "\(what): the registry asks for '\(name)' authentication, which pkgfetch does not speak", status: 401)
            }
        }
        throw PkgfetchError(.registryUnauthorized, "\(what): still HTTP 401 after authenticating", status: 401)
    }

    /// The Authorization to start with: a cached token, or what the host asked for before.
    private func upFront(_ target: AuthTarget, key: TokenCache.Key, deadline: ContinuousClock.Instant?,
                         what: String) async throws -> (String?, Origin) {
        if let token = await tokens.token(for: key) { return ("Bearer \(token)", .cachedToken(token)) }
        switch await tokens.scheme(of: target.host) {
        case .basic:
            if let basic = try await credentials.credential(for: target.host)?.basicAuthorization { return (basic, .basic) }
        case .bearer(let challenge):
            // Same realm, new scope (another repository): ask for the token before the registry has to refuse us.
            let token = try await fetchToken(challenge, target: target, scopes: target.scopes, key: key, deadline: deadline, what: what)
            return ("Bearer \(token)", .cachedToken(token))
        case nil:
            break
        }
        return (nil, .none)
    }

    private func fetchToken(_ challenge: AuthChallenge, target: AuthTarget, scopes: [String], key: TokenCache.Key,
                            deadline: ContinuousClock.Instant?, what: String) async throws -> String {
        let credential = try await credentials.credential(for: target.host)
        let token = try await tokenService.token(challenge: challenge, registryScheme: target.scheme, scopes: scopes,
                                                 credential: credential, deadline: deadline, what: what)
        await tokens.store(token.value, for: key, lifetime: token.lifetime)
        return token.value
    }
}
