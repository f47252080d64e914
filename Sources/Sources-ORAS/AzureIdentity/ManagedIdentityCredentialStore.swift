#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP

/// Logs in to an Azure Container Registry with the node's managed identity, as the node scripts do
/// with `az`/`curl`, and hands the result to the Bearer flow as an identity token:
///
/// 1. an Entra access token from IMDS, for `https://containerregistry.azure.net`, else (IMDS or the
///    exchange failing for it) for `https://management.azure.com/` — over https only, as an ARM
///    token is worth more than the registry;
/// 2. `POST /oauth2/exchange` on the registry → a refresh token;
/// 3. the refresh token is `Credential.identityToken`, traded at the realm by `TokenService`.
///
/// The store is asked only when anonymous access is refused: by the registry, by its realm (asked
/// for an anonymous token first, see `anonymousFirst`), or by the registry for that token. The
/// refresh token stays in memory, is shared by every pull of the process, and is renewed when its
/// `exp` nears (or after `refreshTokenLifetime` without one) and when the authorizer reports it
/// refused (`invalidate`). Concurrent lookups share one login.
public actor ManagedIdentityCredentialStore: CredentialStore {
    public static let registryResource = "https://containerregistry.azure.net"
    public static let managementResource = "https://management.azure.com/"

    public struct Configuration: Sendable {
        /// The registry logged in to (`host[:port]`); other hosts get nothing from this store.
        public var registryHost: String
        /// How the registry is spoken to, for the exchange URL.
        public var registryScheme: String
        /// The managed identity's client id.
        public var clientID: String
        /// Sent as `tenant` to the exchange when set.
        public var tenantID: String?
        public var imdsEndpoint: String
        /// Entra resources tried in order.
        public var resources: [String]
        public var imdsRetry: RetryPolicy
        public var exchangeRetry: RetryPolicy
        /// How long a refresh token without `exp` is used before logging in again (ACR's last three hours).
        public var refreshTokenLifetime: Duration

        public init(registryHost: String, registryScheme: String = "https", clientID: String, tenantID: String? = nil,
                    imdsEndpoint: String = IMDSClient.defaultEndpoint, resources: [String]? = nil,
                    imdsRetry: RetryPolicy = IMDSClient.defaultRetry, exchangeRetry: RetryPolicy = ACRTokenExchange.defaultRetry,
                    refreshTokenLifetime: Duration = .seconds(15 * 60)) {
            self.registryHost = RegistryHost.normalize(registryHost)
            self.registryScheme = registryScheme
            self.clientID = clientID
            self.tenantID = tenantID
            self.imdsEndpoint = imdsEndpoint
            self.resources = resources ?? [ManagedIdentityCredentialStore.registryResource, ManagedIdentityCredentialStore.managementResource]
            self.imdsRetry = imdsRetry
            self.exchangeRetry = exchangeRetry
            self.refreshTokenLifetime = refreshTokenLifetime
        }
    }

    public nonisolated let configuration: Configuration
    private let login: ACRLogin
    private var current: ACRLogin.Session?
    private var pending: Task<ACRLogin.Session, any Error>?
    private var completed = 0

    /// `events` hears each login step (`imds-token`, `acr-exchange`): where, how long, how it ended.
    public init(configuration: Configuration, transport: CurlTransport, events: EventEmitter = EventEmitter()) {
        self.configuration = configuration
        login = ACRLogin(configuration: configuration, events: events,
                         imds: IMDSClient(transport: transport, endpoint: configuration.imdsEndpoint, clientID: configuration.clientID,
                                          retry: configuration.imdsRetry),
                         exchange: ACRTokenExchange(transport: transport, retry: configuration.exchangeRetry))
    }

    /// Successful logins so far (IMDS + exchange).
    public var loginCount: Int { completed }

    public nonisolated var answersExpire: Bool { true }
    /// As the node scripts do: a registry that hands out anonymous pull tokens needs no login.
    public nonisolated var anonymousFirst: Bool { true }

    public func credential(for host: String) async throws -> Credential? {
        try await credential(for: host, deadline: nil)
    }

    public func credential(for host: String, deadline: ContinuousClock.Instant?) async throws -> Credential? {
        guard RegistryHost.normalize(host) == configuration.registryHost else { return nil }
        if let current, ContinuousClock.now < current.renewAt { return .identityToken(current.refreshToken) }
        current = nil
        let task: Task<ACRLogin.Session, any Error>
        if let pending {
            task = pending
        } else {
            let login = self.login
            task = Task { try await login.run(deadline: deadline) }
            pending = task
        }
        do {
            let session = try await task.value
            if pending == task {
                pending = nil
                current = session
                completed += 1
            }
            return .identityToken(session.refreshToken)
        } catch {
            if pending == task { pending = nil }
            throw error
        }
    }

    /// The registry refused the refresh token (or a token minted from it): the next lookup logs in again.
    /// (Declared `async` like the requirement: a synchronous one would lose to the protocol's default
    /// in callers from other modules, which prefer the async overload.)
    public func invalidate(_ credential: Credential, for host: String) async {
        guard case .identityToken(let token) = credential, current?.refreshToken == token else { return }
        current = nil
    }
}

/// One login: IMDS then the exchange, per resource in order, then the early permission check.
struct ACRLogin: Sendable {
    struct Session: Sendable {
        var refreshToken: String
        /// When to log in again: a minute before `exp` (half-way for short-lived tokens).
        var renewAt: ContinuousClock.Instant
    }

    let configuration: ManagedIdentityCredentialStore.Configuration
    let events: EventEmitter
    let imds: IMDSClient
    let exchange: ACRTokenExchange

    private var who: String { "managed identity \(configuration.clientID)" }

    func run(deadline: ContinuousClock.Instant?) async throws -> Session {
        var imdsFailures: [(resource: String, failure: StepRetry.Exhausted)] = []
        var exchangeFailures: [(resource: String, failure: StepRetry.Exhausted)] = []
        var withheld: [String] = []
        for resource in configuration.resources {
            if let deadline, ContinuousClock.now >= deadline { break }
            guard mayTravelInClear(resource) else {
                withheld.append(resource)
                events.emit(task: "imds-token", source: .url(configuration.imdsEndpoint), outcome: "skipped")
                continue
            }
            let accessToken: IMDSClient.AccessToken
            do {
                accessToken = try await step("imds-token", at: configuration.imdsEndpoint) {
                    try await imds.accessToken(resource: resource, deadline: deadline)
                }
            } catch let failure as StepRetry.Exhausted {
                imdsFailures.append((resource, failure))
                continue
            }
            let refreshToken: String
            do {
                refreshToken = try await step("acr-exchange", at: ACRTokenExchange.url(registryHost: configuration.registryHost,
                                                                                       scheme: configuration.registryScheme)) {
                    try await exchange.refreshToken(registryHost: configuration.registryHost, scheme: configuration.registryScheme,
                                                    tenantID: configuration.tenantID, accessToken: accessToken.value, deadline: deadline)
                }
            } catch let failure as StepRetry.Exhausted {
                exchangeFailures.append((resource, failure))
                continue
            }
            let claims = RefreshTokenClaims(jwt: refreshToken)
            if claims?.allowsPull == false {
                let actions = claims?.actions?.map { "\"\($0)\"" }.joined(separator: ", ") ?? ""
                throw PkgfetchError(.registryUnauthorized,
                                    "\(who) may not pull from \(configuration.registryHost): its registry token permits [\(actions)], not \"read\" (assign it the AcrPull role on the registry)")
            }
            return Session(refreshToken: refreshToken, renewAt: renewAt(claims?.expires))
        }
        throw failure(imds: imdsFailures, exchange: exchangeFailures, withheld: withheld)
    }

    /// Whether a token for `resource` may be sent to the exchange. Over https, any; over plain HTTP
    /// only the registry's own (it opens registries to this identity and nothing else): an ARM token
    /// manages whatever the identity may manage, and must not cross a wire anyone on it can read.
    func mayTravelInClear(_ resource: String) -> Bool {
        configuration.registryScheme == "https" || Self.isRegistryResource(resource)
    }

    static func isRegistryResource(_ resource: String) -> Bool {
        var text = resource.lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text == ManagedIdentityCredentialStore.registryResource
    }

    /// Runs one login step and reports it as an event; a failure carries its last error and tries.
    private func step<T: Sendable>(_ task: String, at location: String, _ body: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        let source = Source.url(location)
        do {
            let value = try await body()
            events.emit(task: task, source: source, since: started, outcome: "ok")
            return value
        } catch let failure as StepRetry.Exhausted {
            events.emit(task: task, source: source, since: started, outcome: "failed", error: failure.last, attempt: failure.tries,
                        status: failure.last.status)
            throw failure
        }
    }

    /// `exp` is the server's number: what is left of it is clamped to a day before it becomes a
    /// duration (an `exp` of 1e300 would overflow), and a day is plenty for a process.
    func renewAt(_ expires: Date?) -> ContinuousClock.Instant {
        guard let expires, let left = ServerNumber.clamped(expires.timeIntervalSinceNow, to: 0...86_400) else {
            return .now + configuration.refreshTokenLifetime
        }
        return .now + (left > 120 ? .seconds(left - 60) : .milliseconds(left * 500))
    }

    /// No IMDS token for any resource: `identity-token-failed`. An exchange refused: `registry-unauthorized`.
    /// Otherwise the exchange's own (retryable) failure. The message says what happened for each resource.
    func failure(imds: [(resource: String, failure: StepRetry.Exhausted)],
                 exchange: [(resource: String, failure: StepRetry.Exhausted)], withheld: [String] = []) -> PkgfetchError {
        let endpoint = Redaction.url(configuration.imdsEndpoint)
        var parts: [String] = []
        if !imds.isEmpty {
            parts.append("no token from IMDS (\(endpoint)) " + imds.map { "for \($0.resource): \($0.failure.summary)" }.joined(separator: "; "))
        }
        parts += exchange.map { "for \($0.resource), \($0.failure.summary)" }
        parts += withheld.map { "for \($0): not asked, its token is never sent over plain HTTP (\(configuration.registryHost) is spoken to with http://)" }
        if parts.isEmpty { parts = ["the deadline was reached before IMDS was asked"] }
        let detail = "\(who): " + parts.joined(separator: "; ")
        guard let last = exchange.last?.failure.last else {
            // Nothing tried but what was withheld: trying again changes nothing.
            let retryable = imds.isEmpty ? withheld.isEmpty : imds.contains { $0.failure.last.retryable }
            return PkgfetchError(.identityTokenFailed, detail, retryable: retryable)
        }
        if let refused = exchange.first(where: { $0.failure.last.kind == .registryUnauthorized })?.failure.last {
            let hint = configuration.tenantID == nil ? " (check the identity's role on the registry, or give --tenant-id)"
                : " (check the identity's role on the registry and --tenant-id)"
            return PkgfetchError(.registryUnauthorized, detail + hint, status: refused.status)
        }
        return PkgfetchError(last.kind, detail, retryable: last.retryable, retryAfter: last.retryAfter, status: last.status)
    }
}
