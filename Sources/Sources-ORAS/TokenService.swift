#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP

/// Gets a Bearer token from a registry's token realm (the distribution token spec and its OAuth2
/// variant): `GET realm?service=…&scope=…`, with Basic auth when there is a user name and password;
/// `POST realm` with `grant_type=refresh_token` when the credential is an identity token.
public struct TokenService: Sendable {
    public let transport: CurlTransport
    /// Sent as `client_id` on POSTs, as the OAuth2 flavour of the spec asks.
    public var clientID = "pkgfetch"

    public init(transport: CurlTransport) { self.transport = transport }

    /// The `expires_in` range believed: a token is used for a day at most.
    static let lifetimes = 1...86_400

    public struct Token: Sendable {
        public var value: String
        public var lifetime: Duration
    }

    /// Fetches a token for `scopes`. `registryScheme` is the scheme the registry itself is spoken
    /// to with: a realm must be http(s), and an https registry's realm must be https too, so a
    /// credential sent to it never travels in clear text.
    public func token(challenge: AuthChallenge, registryScheme: String, scopes: [String], credential: Credential?,
                      deadline: ContinuousClock.Instant?, what: String) async throws -> Token {
        guard let realm = challenge.realm, let components = URLComponents(string: realm),
              let scheme = components.scheme?.lowercased(), let realmHost = components.host, !realmHost.isEmpty else {
            throw PkgfetchError(.registryUnauthorized, "\(what): the registry's Bearer challenge has no usable realm")
        }
        guard scheme == "https" || scheme == "http" else {
            throw PkgfetchError(.registryUnauthorized, "\(what): token realm '\(Redaction.url(realm))' refused: scheme '\(scheme)' is not http(s)")
        }
        if registryScheme == "https", scheme != "https" {
            throw PkgfetchError(.registryUnauthorized, "\(what): token realm '\(Redaction.url(realm))' refused: plain HTTP realm for an https registry")
        }
        var request: HTTPRequest
        switch credential {
        case .identityToken(let refresh):
            var form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", clientID)]
            if let service = challenge.service { form.append(("service", service)) }
            if !scopes.isEmpty { form.append(("scope", scopes.joined(separator: " "))) }
            var headers = HTTPHeaders()
            headers.set("Content-Type", "application/x-www-form-urlencoded")
            request = HTTPRequest(method: "POST", url: realm, headers: headers, body: Data(Self.formEncode(form).utf8), deadline: deadline,
                                  followRedirects: false)
        case .basic, nil:
            var query = components.percentEncodedQueryItems ?? []
            if let service = challenge.service { query.append(URLQueryItem(name: "service", value: Self.queryEncode(service))) }
            for scope in scopes { query.append(URLQueryItem(name: "scope", value: Self.queryEncode(scope))) }
            var url = components
            url.percentEncodedQueryItems = query.isEmpty ? nil : query
            var headers = HTTPHeaders()
            if let basic = credential?.basicAuthorization { headers.set("Authorization", basic) }
            request = HTTPRequest(url: url.string ?? realm, headers: headers, deadline: deadline, followRedirects: false)
        }
        request.headers.set("Accept", "application/json")

        let response: HTTPResponse
        do {
            response = try await transport.send(request) { _ in .collect(limit: 1 << 20) }
        } catch {
            throw FailureClassification.registry.error(for: error, what: "\(what): token request to \(realmHost)")
        }
        switch response.status {
        case 200..<300:
            break
        case 401, 403:
            let who = credential.map { "with \($0)" } ?? "anonymously"
            throw PkgfetchError(.registryUnauthorized, "\(what): token service \(realmHost) refused a token \(who) (HTTP \(response.status))",
                                status: response.status)
        case 404:
            throw PkgfetchError(.orasPullFailed, "\(what): token realm \(Redaction.url(realm)) answered HTTP 404", status: 404)
        case 300..<400:
            // A credential goes to the realm the registry named and nowhere else: a redirect would
            // carry a refresh token (in the body) or a password to wherever the realm points.
            throw PkgfetchError(.registryUnauthorized,
                                "\(what): token realm \(Redaction.url(realm)) answered with a redirect (HTTP \(response.status)), which token requests never follow",
                                status: response.status)
        default:
            throw FailureClassification.registry.error(for: HTTPStatusError(head: response.head, body: Data()),
                                                       what: "\(what): token request to \(realmHost)")
        }
        guard let answer = JSONAny.parse(response.body) as? [String: Any],
              let token = [answer["token"], answer["access_token"]].compactMap({ $0 as? String }).first(where: { !$0.isEmpty }) else {
            throw PkgfetchError(.registryUnauthorized, "\(what): token service \(realmHost) answered without a token")
        }
        // The spec's default lifetime is 60 seconds; whatever the realm says is kept within a second and a day.
        return Token(value: token, lifetime: ServerNumber.seconds(answer["expires_in"], in: Self.lifetimes) ?? .seconds(60))
    }

    /// `application/x-www-form-urlencoded`.
    static func formEncode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(queryEncode($0.0))=\(queryEncode($0.1))" }.joined(separator: "&")
    }

    /// Percent-encodes everything but unreserved characters (so `:` `/` `+` ` ` in scopes survive).
    static func queryEncode(_ text: String) -> String {
        PercentEncoding.encodingAllButUnreserved(text)
    }
}
