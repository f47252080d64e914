import Foundation

/// A stand-in for the Azure Instance Metadata Service's managed-identity token endpoint, on loopback
/// (the real one is link-local and exists only on Azure VMs). It checks a request as IMDS does —
/// `Metadata: true`, `api-version`, `resource`, the identity's `client_id`, no `X-Forwarded-For`
/// (IMDS refuses proxied requests) — answers like IMDS (`expires_in` as a string), and records every call.
public final class IMDSStandIn: @unchecked Sendable {
    public static let path = "/metadata/identity/oauth2/token"

    /// How one call for a resource is answered.
    public enum Answer: Sendable {
        /// A fresh opaque access token.
        case token
        /// An IMDS error answer, e.g. `(400, "invalid_request", "Identity not found")` or `(503, …)`.
        case failure(status: Int, error: String, description: String)
    }

    /// One request as IMDS saw it.
    public struct Call: Sendable {
        public var method: String
        public var path: String
        public var metadata: String?
        public var apiVersion: String?
        public var resource: String?
        public var clientID: String?
        public var forwardedFor: String?
        public var status: Int
    }

    public let clientID: String
    private var server: StubHTTPServer!
    private let lock = NSLock()
    private var scripts: [String: [Answer]] = [:]
    private var log: [Call] = []
    private var issued: [String: String] = [:]

    /// `address`: the loopback address to listen on (127.0.0.2 keeps it apart from servers on 127.0.0.1 for NO_PROXY).
    public init(clientID: String, address: String = "127.0.0.1") throws {
        self.clientID = clientID
        server = try StubHTTPServer(address: address) { [unowned self] request in self.answer(request) }
    }

    deinit { server.stop() }
    public func stop() { server.stop() }

    /// The token endpoint URL, for `--imds-endpoint`.
    public var endpoint: String { server.url + Self.path }

    /// Calls for `resource` are answered with `answers` in order, the last one repeating. Default: `.token`.
    public func script(_ resource: String, _ answers: [Answer]) { lock.withLock { scripts[resource] = answers } }

    public var calls: [Call] { lock.withLock { log } }

    /// Every access token issued so far.
    public var issuedTokens: [String] { lock.withLock { Array(issued.keys) } }

    /// The resource `token` was issued for, nil when this IMDS never issued it.
    public func resource(of token: String) -> String? { lock.withLock { issued[token] } }

    private func answer(_ request: StubRequest) -> StubResponse {
        let query = request.query
        func field(_ name: String) -> String? { query.first { $0.0 == name }?.1 }
        var call = Call(method: request.method, path: request.path, metadata: request.header("Metadata"),
                        apiVersion: field("api-version"), resource: field("resource"), clientID: field("client_id"),
                        forwardedFor: request.header("X-Forwarded-For"), status: 0)
        let response: StubResponse
        defer { call.status = response.status; let done = call; lock.withLock { log.append(done) } }
        func failure(_ status: Int, _ error: String, _ description: String) -> StubResponse {
            .json(["error": error, "error_description": description], status: status)
        }
        guard request.method == "GET", request.path == Self.path else {
            response = failure(404, "not_found", "no such endpoint")
            return response
        }
        guard call.metadata == "true" else {
            response = failure(400, "invalid_request", "Required metadata header not specified")
            return response
        }
        guard call.forwardedFor == nil else {
            response = failure(400, "invalid_request", "Request not allowed through a proxy")
            return response
        }
        guard call.apiVersion == "2018-02-01" else {
            response = failure(400, "invalid_request", "Missing or unsupported api-version")
            return response
        }
        guard let resource = call.resource, !resource.isEmpty else {
            response = failure(400, "invalid_request", "Required query variable 'resource' is missing")
            return response
        }
        guard call.clientID == clientID else {
            response = failure(400, "invalid_request", "Identity not found")
            return response
        }
        let next: Answer = lock.withLock {
            guard var script = scripts[resource], let first = script.first else { return .token }
            if script.count > 1 { script.removeFirst(); scripts[resource] = script }
            return first
        }
        switch next {
        case .failure(let status, let error, let description):
            response = failure(status, error, description)
        case .token:
            let token = "aad-" + UUID().uuidString + UUID().uuidString
            lock.withLock { issued[token] = resource }
            let now = Int(Date().timeIntervalSince1970)
            response = .json(["access_token": token, "client_id": clientID, "expires_in": "3600", "expires_on": String(now + 3600),
                              "ext_expires_in": "3599", "not_before": String(now), "resource": resource, "token_type": "Bearer"])
        }
        return response
    }
}

/// An Azure Container Registry as a client sees it, built from real parts where they exist: the real
/// distribution registry (token auth) serves `/v2/`; `TokenServer` plays ACR's `/oauth2/token` (the
/// realm, minting RS256 JWTs the registry verifies) and `/oauth2/exchange` (Entra access token from
/// the IMDS stand-in → a refresh token that is a JWT, with or without `permissions`); a real nginx in
/// front serves both from one host:port, as `myacr.azurecr.io` does. The registry's `service` is
/// that host, as in ACR.
public final class ACRStandIn: @unchecked Sendable {
    /// One `/oauth2/exchange` request as the stand-in understood it.
    public struct Exchange: Sendable {
        public var grantType: String?
        public var service: String?
        public var tenant: String?
        /// The resource the presented Entra token was issued for; nil when IMDS never issued it.
        public var resource: String?
        public var status: Int
    }

    public let tokenServer: TokenServer
    public let registry: TestRegistry
    public let front: NginxFront
    private let imds: IMDSStandIn
    private let tenant: String?
    private let lock = NSLock()
    private var log: [Exchange] = []
    private var minted: [String] = []
    private var scripted: [Int] = []
    private var refusedResources: Set<String> = []
    private var refuseAll: Int?
    private var actions: [String]? = ["read"]
    private var refreshLifetime = 10800
    private var users: [String] = []

    /// Serves the registry storage at `root`; trusts tokens of `imds`; expects `tenant` when set.
    /// `accessTokenLifetime`: the realm's `expires_in` for the tokens it mints. `anonymousPull`: the
    /// realm hands out anonymous pull tokens (ACR's anonymous pull). `tls`: the front speaks HTTPS
    /// with a certificate this CA signs, as ACR does, and so does the realm it publishes.
    public init(root: String, imds: IMDSStandIn, tenant: String?, accessTokenLifetime: Int = 300, anonymousPull: Bool = false,
                tls: TestCA? = nil) throws {
        self.imds = imds
        self.tenant = tenant
        let port = try Ports.free()
        let host = "127.0.0.1:\(port)"
        scheme = tls == nil ? "http" : "https"
        tokenServer = try TokenServer(anonymousPull: anonymousPull, tokenField: "access_token", expiresIn: accessTokenLifetime,
                                      service: host, realm: "\(scheme)://\(host)/oauth2/token")
        registry = try TestRegistry(auth: .token(tokenServer), root: root)
        front = try NginxFront(port: port, routes: [("/v2/", registry.port), ("/oauth2/", tokenServer.port)], tls: tls)
        tokenServer.route("/oauth2/exchange") { [unowned self] request in self.exchange(request) }
    }

    /// `127.0.0.1:PORT` of the front: what `--bootstrap-registry` names.
    public var host: String { front.host }
    /// `http`, or `https` with `tls`.
    public let scheme: String

    public var exchanges: [Exchange] { lock.withLock { log } }
    /// Every refresh token the exchange handed out, in order.
    public var refreshTokens: [String] { lock.withLock { minted } }
    /// Every secret the flow handed out: Entra tokens, refresh tokens, registry access tokens.
    public var allSecrets: [String] {
        imds.issuedTokens + refreshTokens + tokenServer.requests.compactMap(\.token)
    }

    /// The next exchanges answer these statuses (e.g. 503) before behaving normally.
    public func failNextExchanges(_ statuses: [Int]) { lock.withLock { scripted = statuses } }
    /// Every exchange is refused with `status`.
    public func refuseExchanges(status: Int = 401) { lock.withLock { refuseAll = status } }
    /// Entra tokens issued for `resource` are refused (the scripts then try the next resource).
    public func refuseTokens(for resource: String) { _ = lock.withLock { refusedResources.insert(resource) } }
    /// `permissions.actions` of the refresh tokens; nil leaves `permissions` out (an ABAC registry).
    public func setPermissions(_ value: [String]?) { lock.withLock { actions = value } }
    /// `exp` of the refresh tokens, seconds from issue.
    public func setRefreshTokenLifetime(_ seconds: Int) { lock.withLock { refreshLifetime = seconds } }
    /// The realm user each next refresh token stands for, in order (default `managed-identity`); see `TokenServer.denyPull`.
    public func nextRefreshTokenUsers(_ names: [String]) { lock.withLock { users = names } }

    private func exchange(_ request: StubRequest) -> StubResponse {
        let form = request.form
        func field(_ name: String) -> String? { form.first { $0.0 == name }?.1 }
        let token = field("access_token") ?? ""
        var record = Exchange(grantType: field("grant_type"), service: field("service"), tenant: field("tenant"),
                              resource: imds.resource(of: token), status: 200)
        let (status, lifetime, actions, user): (Int, Int, [String]?, String) = lock.withLock {
            let user = users.isEmpty ? "managed-identity" : users.removeFirst()
            var status = 200
            if request.method != "POST" || record.grantType != "access_token" || record.service != host {
                status = 400
            } else if let tenant, record.tenant != tenant {
                status = 401
            } else if record.resource == nil || refusedResources.contains(record.resource ?? "") {
                status = 401
            } else if let refuseAll {
                status = refuseAll
            } else if !scripted.isEmpty {
                status = scripted.removeFirst()
            }
            return (status, refreshLifetime, self.actions, user)
        }
        record.status = status
        defer { let done = record; lock.withLock { log.append(done) } }
        guard status == 200 else {
            return .json(["errors": [["code": "UNAUTHORIZED", "message": "exchange refused"]]], status: status)
        }
        let now = Int(Date().timeIntervalSince1970)
        var claims: [String: Any] = ["jti": UUID().uuidString, "sub": imds.clientID, "nbf": now - 10, "exp": now + lifetime, "iat": now,
                                     "iss": "Azure Container Registry", "aud": host, "version": "1.0", "rid": UUID().uuidString,
                                     "grant_type": "refresh_token", "tenant": record.tenant ?? "", "roles": [] as [String]]
        if let actions { claims["permissions"] = ["actions": actions, "notActions": [] as [String]] }
        do {
            let refresh = try tokenServer.signJWT(claims: claims)
            tokenServer.grantRefreshToken(refresh, to: user)
            lock.withLock { minted.append(refresh) }
            return .json(["refresh_token": refresh])
        } catch {
            record.status = 500
            return .json(["error": "\(error)"], status: 500)
        }
    }
}
