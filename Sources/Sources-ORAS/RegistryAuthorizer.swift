#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
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
    /// HTTP 401 (the head carries the `WWW-Authenticate` challenge) or 403.
    case unauthorized(HTTPResponseHead)
}

/// Answers registry challenges as the Docker and oras clients do: anonymous first; on 401, Basic
/// with the host's credential, or a Bearer token from the challenge's realm (cached per host and
/// scope). A cached token the registry refuses is fetched anew once; a fresh token or a credential
/// refused ends in `registry-unauthorized`. An identity token (a refresh token, e.g. from an Azure
/// managed-identity login) is renewed once when the realm refuses it or the registry refuses a token
/// minted from it: the store is told to forget it (`invalidate`) and asked for a new one.
///
/// A store that asks for it (`anonymousFirst`, the managed identity) is asked only when anonymous
/// access is refused: the realm is asked for an anonymous token first, and the store only when the
/// realm or the registry refuses that token. What that came to is learned once per registry
/// (`AnonymousAccessLedger`) and reported as events: `anonymous-token` (the realm's answer) and
/// `anonymous-access` (the registry's).
///
/// A 401 or 403 from another host than the registry (a request redirected there) is not answered:
/// the registry's credentials go to the realm the registry names, never to one another host names.
/// Secrets go into headers only, never into messages.
public struct RegistryAuthorizer: Sendable {
    public let credentials: any CredentialStore
    public let tokens: TokenCache
    public let tokenService: TokenService
    public let anonymous: AnonymousAccessLedger

    public init(credentials: any CredentialStore, tokens: TokenCache, tokenService: TokenService,
                anonymous: AnonymousAccessLedger = AnonymousAccessLedger()) {
        self.credentials = credentials is CachingCredentialStore ? credentials : CachingCredentialStore(credentials)
        self.tokens = tokens
        self.tokenService = tokenService
        self.anonymous = anonymous
    }

    /// Where the Authorization header in use came from, which decides what a 401 means. A fresh
    /// token remembers the credential it was minted with (nil: an anonymous token).
    private enum Origin {
        case none, basic, cachedToken(String), freshToken(String, Credential?)

        /// A token the realm handed out without a credential, just now.
        var isFreshAnonymousToken: Bool {
            if case .freshToken(_, nil) = self { return true }
            return false
        }
    }

    /// One `perform`'s state.
    private struct Call {
        let target: AuthTarget
        let key: TokenCache.Key
        let deadline: ContinuousClock.Instant?
        let what: String
        let events: EventEmitter
        /// Whether an identity token was renewed already for this request: once at most.
        var renewed = false
        /// This call is finding out what anonymous access to the host comes to, and must settle it.
        var probing = false
        /// The last Bearer challenge, for a 403 (which carries none) to an anonymous token.
        var challenge: AuthChallenge?
    }

    /// Runs `attempt` with an `Authorization` value (nil: anonymous), answering 401s.
    public func perform<Value: Sendable>(_ target: AuthTarget, deadline: ContinuousClock.Instant?, what: String,
                                         events: EventEmitter = EventEmitter(),
                                         _ attempt: (String?) async throws -> AuthOutcome<Value>) async throws -> Value {
        var call = Call(target: target, key: TokenCache.Key(host: target.host, scopes: target.scopes), deadline: deadline,
                        what: what, events: events)
        // Whatever happens, a probe this call began is settled, or pulls waiting for it would wait forever.
        let result: Result<Value, any Error>
        do {
            result = .success(try await run(&call, attempt))
        } catch {
            result = .failure(error)
        }
        if call.probing { await anonymous.settle(target.host, nil) }
        return try result.get()
    }

    private func run<Value: Sendable>(_ call: inout Call, _ attempt: (String?) async throws -> AuthOutcome<Value>) async throws -> Value {
        let target = call.target, what = call.what
        var (authorization, origin) = try await upFront(&call)
        // Anonymous (or a cached token) → (anonymous token →) credential or token → (a cached token
        // refused) fresh token → (refused, minted from an identity token) one from a renewed identity
        // token: at most five tries.
        for _ in 0..<5 {
            let head: HTTPResponseHead
            switch try await attempt(authorization) {
            case .done(let value):
                if origin.isFreshAnonymousToken { await settle(.allowed, &call) }
                return value
            case .unauthorized(let refused): head = refused
            }
            guard Self.isRegistry(head.url, target) else {
                throw PkgfetchError(.registryUnauthorized,
                                    "\(what): HTTP \(head.status) from \(Self.origin(of: head.url)) after a redirect; \(target.host)'s credentials are offered to no other host",
                                    status: head.status)
            }
            let values = head.headers.filter { $0.name.lowercased() == "www-authenticate" }.map(\.value)
            // A 403 carries no challenge; to an anonymous token it is answered as its 401 would be.
            let anonymousTokenRefused = credentials.anonymousFirst && origin.isFreshAnonymousToken
            guard let challenge = AuthChallenge.preferred(AuthChallenge.parse(values)) ?? (anonymousTokenRefused ? call.challenge : nil) else {
                throw head.status == 403 ? Self.accessDenied(what)
                    : PkgfetchError(.registryUnauthorized, "\(what): HTTP 401 without a Basic or Bearer challenge", status: 401)
            }
            if challenge.scheme == .bearer { call.challenge = challenge }
            switch (challenge.scheme, origin) {
            case (.bearer, .freshToken(let refusedToken, nil)) where anonymousTokenRefused:
                // The registry refused the anonymous token for this repository: the store's credential it is.
                call.events.emit(task: "anonymous-access", source: .url("\(target.scheme)://\(target.host)"), outcome: "failed",
                                 status: head.status)
                await settle(.refused, &call)
                await tokens.invalidate(refusedToken, for: call.key)
                guard try await credentials.credential(for: target.host, deadline: call.deadline) != nil else {
                    throw refusal(target, status: head.status, hadCredential: false, what: what)
                }
                let token = try await fetchToken(challenge, scopes: Self.scopes(target, challenge), &call)
                (authorization, origin) = ("Bearer \(token.value)", .freshToken(token.value, token.credential))
            case (_, _) where head.status == 403:
                throw Self.accessDenied(what)
            case (.basic, .basic):
                throw refusal(target, status: 401, hadCredential: true, what: what)
            case (.bearer, .freshToken(let refusedToken, let used)):
                guard case .some(.identityToken) = used, let used, !call.renewed else {
                    throw refusal(target, status: 401, hadCredential: used != nil, what: what)
                }
                // The registry refused a token minted from an identity token (revoked, or its grant
                // changed): renew the identity token once and mint again.
                call.renewed = true
                await tokens.invalidate(refusedToken, for: call.key)
                await credentials.invalidate(used, for: target.host)
                guard let fresh = try await credentials.credential(for: target.host, deadline: call.deadline), fresh != used else {
                    throw refusal(target, status: 401, hadCredential: true, what: what)
                }
                let token = try await fetchToken(challenge, scopes: Self.scopes(target, challenge), &call)
                (authorization, origin) = ("Bearer \(token.value)", .freshToken(token.value, token.credential))
            case (.basic, _):
                guard let credential = try await credentials.credential(for: target.host, deadline: call.deadline) else {
                    throw PkgfetchError(.registryUnauthorized, "\(what): \(target.host) requires a login and no credentials are configured for it (HTTP 401)", status: 401)
                }
                guard let basic = credential.basicAuthorization else {
                    throw PkgfetchError(.registryUnauthorized, "\(what): \(target.host) asks for Basic auth, but its credential is \(credential)", status: 401)
                }
                await tokens.remember(.basic, for: target.host)
                (authorization, origin) = (basic, .basic)
            case (.bearer, _):
                if case .cachedToken(let stale) = origin { await tokens.invalidate(stale, for: call.key) }
                await tokens.remember(.bearer(challenge), for: target.host)
                let token = try await mintToken(challenge, scopes: Self.scopes(target, challenge), &call)
                (authorization, origin) = ("Bearer \(token.value)", .freshToken(token.value, token.credential))
            case (.other(let name), _):
                throw PkgfetchError(.registryUnauthorized, "\(what): the registry asks for '\(name)' authentication, which pkgfetch does not speak", status: 401)
            }
        }
        throw PkgfetchError(.registryUnauthorized, "\(what): still HTTP 401 after authenticating", status: 401)
    }

    private static func scopes(_ target: AuthTarget, _ challenge: AuthChallenge) -> [String] {
        Array(Set(target.scopes + challenge.scopes)).sorted()
    }

    /// What a 403 has always meant here, as `RegistryClient.classify` words it too.
    private static func accessDenied(_ what: String) -> PkgfetchError {
        PkgfetchError(.registryUnauthorized, "\(what): HTTP 403 (access denied)", status: 403)
    }

    private func refusal(_ target: AuthTarget, status: Int, hadCredential: Bool, what: String) -> PkgfetchError {
        let refused = hadCredential
            ? "the registry refused the credentials for \(target.host)"
            : "\(target.host) refused anonymous access and no credentials are configured for it"
        return PkgfetchError(.registryUnauthorized, "\(what): \(refused) (HTTP \(status))", status: status)
    }

    /// The Authorization to start with: a cached token, or what the host asked for before.
    private func upFront(_ call: inout Call) async throws -> (String?, Origin) {
        let target = call.target
        if let token = await tokens.token(for: call.key) { return ("Bearer \(token)", .cachedToken(token)) }
        switch await tokens.scheme(of: target.host) {
        case .basic:
            if let basic = try await credentials.credential(for: target.host, deadline: call.deadline)?.basicAuthorization {
                return (basic, .basic)
            }
        case .bearer(let challenge):
            // Same realm, new scope (another repository): ask for the token before the registry has to refuse us.
            call.challenge = challenge
            let token = try await mintToken(challenge, scopes: target.scopes, &call)
            return ("Bearer \(token.value)", .freshToken(token.value, token.credential))
        case nil:
            break
        }
        return (nil, .none)
    }

    /// A token for `scopes`. For a store that tries anonymous first, an anonymous one unless
    /// anonymous access to the host is known to be refused (waiting while another pull finds out);
    /// else one minted with the host's credential.
    private func mintToken(_ challenge: AuthChallenge, scopes: [String],
                           _ call: inout Call) async throws -> (value: String, credential: Credential?) {
        if credentials.anonymousFirst {
            let verdict = await anonymous.verdict(for: call.target.host)
            if verdict == nil { call.probing = true }
            if verdict != .refused, let token = try await anonymousToken(challenge, scopes: scopes, &call) {
                return (token, nil)
            }
        }
        return try await fetchToken(challenge, scopes: scopes, &call)
    }

    /// The realm's anonymous token, or nil when the realm refuses one: any 4xx (401/403, but a realm
    /// may as well say 400 or 404 to a request without credentials), so that the store's credential
    /// is tried rather than the pull failing on what was only a probe. 5xx and network failures are
    /// the realm's trouble, and the credential would meet them too: they end the request.
    private func anonymousToken(_ challenge: AuthChallenge, scopes: [String], _ call: inout Call) async throws -> String? {
        let started = ContinuousClock.now
        let realm = Source.url(challenge.realm ?? "")
        do {
            let token = try await tokenService.token(challenge: challenge, registryScheme: call.target.scheme, scopes: scopes,
                                                     credential: nil, deadline: call.deadline, what: call.what)
            call.events.emit(task: "anonymous-token", source: realm, since: started, outcome: "ok")
            await tokens.store(token.value, for: call.key, lifetime: token.lifetime)
            return token.value
        } catch let refused as PkgfetchError where (400..<500).contains(refused.status ?? 0) {
            call.events.emit(task: "anonymous-token", source: realm, since: started, outcome: "failed", error: refused, status: refused.status)
            await settle(.refused, &call)
            return nil
        }
    }

    /// Records what anonymous access to the host came to: by the call finding it out, or by any
    /// call that saw it refused (anonymous access may hold for one repository and not another).
    private func settle(_ verdict: AnonymousAccessLedger.Verdict, _ call: inout Call) async {
        guard call.probing || verdict == .refused else { return }
        if call.probing, verdict == .allowed {
            call.events.emit(task: "anonymous-access", source: .url("\(call.target.scheme)://\(call.target.host)"), outcome: "ok")
        }
        call.probing = false
        await anonymous.settle(call.target.host, verdict)
    }

    /// A token from the realm, with the credential it was minted with. When the realm refuses an
    /// identity token, the store is told to forget it and asked once for a new one.
    private func fetchToken(_ challenge: AuthChallenge, scopes: [String],
                            _ call: inout Call) async throws -> (value: String, credential: Credential?) {
        let target = call.target
        var credential = try await credentials.credential(for: target.host, deadline: call.deadline)
        while true {
            do {
                let token = try await tokenService.token(challenge: challenge, registryScheme: target.scheme, scopes: scopes,
                                                         credential: credential, deadline: call.deadline, what: call.what)
                await tokens.store(token.value, for: call.key, lifetime: token.lifetime)
                return (token.value, credential)
            } catch let refused as PkgfetchError where refused.kind == .registryUnauthorized && (refused.status == 401 || refused.status == 403) {
                guard case .some(.identityToken) = credential, let used = credential, !call.renewed else { throw refused }
                call.renewed = true
                await credentials.invalidate(used, for: target.host)
                guard let fresh = try await credentials.credential(for: target.host, deadline: call.deadline), fresh != used else {
                    throw refused
                }
                credential = fresh
            }
        }
    }

    /// Whether `url` (where a 401 came from) is the registry itself: same scheme, host and port.
    static func isRegistry(_ url: String, _ target: AuthTarget) -> Bool {
        guard let answered = Endpoint(url), let registry = Endpoint("\(target.scheme)://\(target.host)/") else { return false }
        return answered == registry
    }

    /// `scheme://host:port` of `url`, for messages (no path, query or user-info).
    static func origin(of url: String) -> String {
        Endpoint(url).map { "\($0.scheme)://\($0.host):\($0.port)" } ?? "another host"
    }

    private struct Endpoint: Equatable {
        var scheme: String
        var host: String
        var port: Int

        init?(_ url: String) {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                  let host = components.host?.lowercased(), !host.isEmpty else { return nil }
            self.scheme = scheme
            self.host = host
            guard let port = components.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : nil) else { return nil }
            self.port = port
        }
    }
}
