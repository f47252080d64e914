import Foundation

/// A token issuer for the distribution registry's `auth.token` mode: it answers the Bearer flow
/// (`GET realm?service&scope` with optional Basic auth; `POST` with `grant_type=refresh_token` or
/// `password`) with RS256 JWTs signed by openssl, whose `x5c` header carries a self-signed
/// certificate that the registry trusts through `rootcertbundle`. It logs every token request.
public final class TokenServer: @unchecked Sendable {
    /// One request to the realm, as the server understood it.
    public struct Issued: Sendable {
        public var method: String
        public var grantType: String?
        public var service: String?
        public var scopes: [String]
        /// The authenticated user, nil for anonymous.
        public var user: String?
        public var hadAuthorization: Bool
        /// The HTTP status answered.
        public var status: Int
        /// The refresh token presented with `grant_type=refresh_token`.
        public var refreshToken: String?
        /// The access token issued, when one was.
        public var token: String?
    }

    public let service: String
    public let issuer = "pkgfetch-test-issuer"
    public let certificatePath: String
    private let keyPath: String
    private let certificateDER: String
    private let directory: TemporaryDirectory
    private var server: StubHTTPServer!
    private let publishedRealm: String?
    private let lock = NSLock()
    private var issued: [Issued] = []
    private var serial = 0
    private var refreshTokens: [String: String]
    private var pullDenied: Set<String> = []
    private var anonymousRefusal = 401
    private var routes: [String: @Sendable (StubRequest) -> StubResponse] = [:]

    /// `users`: name → password; `refreshTokens`: token → user name; `pushers` may also push.
    /// `anonymousPull`: tokens without credentials carry pull access.
    /// `tokenField`: `token`, `access_token` or both, to exercise what clients read.
    /// `service`: the registry's service name (ACR uses the registry's host). `realm`: the realm URL
    /// published to the registry when clients reach this server through a front (default: its own `/token`).
    public init(users: [String: String] = [:], refreshTokens: [String: String] = [:], pushers: Set<String> = [],
                anonymousPull: Bool = false, tokenField: String = "token", expiresIn: Int = 300,
                service: String = "pkgfetch-test-registry", realm: String? = nil) throws {
        self.service = service
        self.refreshTokens = refreshTokens
        publishedRealm = realm
        directory = try TemporaryDirectory("token-server")
        keyPath = directory.join("signing.key")
        certificatePath = directory.join("signing.pem")
        try Processes.check(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certificatePath,
                             "-days", "2", "-subj", "/CN=pkgfetch test token issuer"])
        let derPath = directory.join("signing.der")
        try Processes.check(["openssl", "x509", "-in", certificatePath, "-outform", "DER", "-out", derPath])
        certificateDER = try Data(contentsOf: URL(fileURLWithPath: derPath)).base64EncodedString()
        server = try StubHTTPServer { [unowned self] request in
            if let route = self.lock.withLock({ self.routes[request.path] }) { return route(request) }
            return self.answer(request, users: users, pushers: pushers, anonymousPull: anonymousPull,
                               tokenField: tokenField, expiresIn: expiresIn)
        }
    }

    deinit { server.stop() }

    public var realm: String { publishedRealm ?? "\(server.url)/token" }
    /// This server's own address, whatever realm it publishes.
    public var url: String { server.url }

    /// Accepts `token` with `grant_type=refresh_token` from now on, on behalf of `user`.
    public func grantRefreshToken(_ token: String, to user: String) { lock.withLock { refreshTokens[token] = user } }

    /// Refuses every refresh token accepted so far (they were revoked, or expired).
    public func revokeRefreshTokens() { lock.withLock { refreshTokens = [:] } }

    /// Tokens issued to `user` carry no pull access (its role was taken away), so the registry refuses them.
    public func denyPull(to user: String) { _ = lock.withLock { pullDenied.insert(user) } }

    /// Anonymous tokens (with `anonymousPull`) are still issued but carry no pull access, as a token
    /// service that answers every scope does: the registry, not the realm, refuses them.
    public func denyAnonymousPull() { denyPull(to: Self.anonymousUser) }

    /// Requests without any credential are refused with `status` instead of 401 (without `anonymousPull`).
    public func refuseAnonymous(status: Int) { lock.withLock { anonymousRefusal = status } }

    /// How `pullDenied` names the anonymous user (a real user name is never empty).
    private static let anonymousUser = ""

    /// Answers requests for `path` with `handler` instead of as the realm (e.g. ACR's `/oauth2/exchange`).
    public func route(_ path: String, _ handler: @escaping @Sendable (StubRequest) -> StubResponse) {
        lock.withLock { routes[path] = handler }
    }
    public var port: Int { server.port }
    /// Token requests so far.
    public var requests: [Issued] { lock.withLock { issued } }
    public func stop() { server.stop() }

    private func answer(_ request: StubRequest, users: [String: String], pushers: Set<String>,
                        anonymousPull: Bool, tokenField: String, expiresIn: Int) -> StubResponse {
        let fields = request.method == "POST" ? request.form : request.query
        let grantType = fields.first { $0.0 == "grant_type" }?.1
        let service = fields.first { $0.0 == "service" }?.1
        let scopes = fields.filter { $0.0 == "scope" }.flatMap { $0.1.split(separator: " ").map(String.init) }
        var user: String?
        var refreshToken: String?
        var denied = false
        if let authorization = request.header("Authorization") {
            if authorization.hasPrefix("Basic "), let data = Data(base64Encoded: String(authorization.dropFirst(6))),
               let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":"),
               users[String(text[..<colon])] == String(text[text.index(after: colon)...]) {
                user = String(text[..<colon])
            } else {
                denied = true
            }
        }
        switch grantType {
        case "refresh_token":
            let token = fields.first { $0.0 == "refresh_token" }?.1 ?? ""
            refreshToken = token
            if let owner = lock.withLock({ refreshTokens[token] }) { user = owner } else { denied = true }
        case "password":
            let name = fields.first { $0.0 == "username" }?.1 ?? ""
            if users[name] == fields.first(where: { $0.0 == "password" })?.1 { user = name } else { denied = true }
        default:
            break
        }
        if user == nil, !anonymousPull { denied = true }
        func record(_ status: Int, token: String? = nil) {
            lock.withLock {
                issued.append(Issued(method: request.method, grantType: grantType, service: service, scopes: scopes, user: user,
                                     hadAuthorization: request.header("Authorization") != nil, status: status,
                                     refreshToken: refreshToken, token: token))
            }
        }
        if denied {
            // Some token services answer a request without any credential otherwise than 401.
            let anonymous = grantType == nil && request.header("Authorization") == nil
            let status = anonymous ? lock.withLock { anonymousRefusal } : 401
            record(status)
            return .json(["errors": [["code": "UNAUTHORIZED", "message": "authentication required"]]], status: status)
        }
        guard service == self.service else {
            record(400)
            return .json(["error": "unknown service"], status: 400)
        }
        let mayPull = !lock.withLock { pullDenied.contains(user ?? Self.anonymousUser) }

        var access: [[String: Any]] = []
        for scope in scopes {
            // repository:NAME:ACTIONS, NAME may hold colons only in theory; split from the ends.
            let parts = scope.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 3, parts[0] == "repository" else { continue }
            let name = parts[1..<(parts.count - 1)].joined(separator: ":")
            let wanted = parts[parts.count - 1].split(separator: ",").map(String.init)
            let allowed = wanted.filter { ($0 == "pull" && mayPull) || ($0 == "push" && user.map(pushers.contains) == true) }
            access.append(["type": "repository", "name": name, "actions": allowed])
        }
        do {
            let token = try sign(subject: user ?? "", access: access, expiresIn: expiresIn)
            var body: [String: Any] = ["expires_in": expiresIn, "issued_at": ISO8601DateFormatter().string(from: Date())]
            if tokenField == "token" || tokenField == "both" { body["token"] = token }
            if tokenField == "access_token" || tokenField == "both" { body["access_token"] = token }
            record(200, token: token)
            return .json(body)
        } catch {
            record(500)
            return .json(["error": "\(error)"], status: 500)
        }
    }

    /// An RS256 JWT with the claims the distribution registry checks.
    private func sign(subject: String, access: [[String: Any]], expiresIn: Int) throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        let jti = lock.withLock { serial += 1; return "token-\(serial)" }
        return try signJWT(claims: ["iss": issuer, "sub": subject, "aud": service, "exp": now + expiresIn, "nbf": now - 10,
                                    "iat": now, "jti": jti, "access": access])
    }

    /// Any claims as an RS256 JWT with this issuer's `x5c` header (e.g. an ACR-style refresh token).
    public func signJWT(claims: [String: Any]) throws -> String {
        let header: [String: Any] = ["alg": "RS256", "typ": "JWT", "x5c": [certificateDER]]
        let input = Self.base64URL(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
            + "." + Self.base64URL(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let work = try TemporaryDirectory("jwt")
        let inputPath = work.join("input"), signaturePath = work.join("signature")
        try Data(input.utf8).write(to: URL(fileURLWithPath: inputPath))
        try Processes.check(["openssl", "dgst", "-sha256", "-sign", keyPath, "-out", signaturePath, inputPath])
        let signature = try Data(contentsOf: URL(fileURLWithPath: signaturePath))
        return input + "." + Self.base64URL(signature)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
