#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP

/// Trades a Microsoft Entra access token for an Azure Container Registry refresh token:
/// `POST <scheme>://<registry>/oauth2/exchange` with the form
/// `grant_type=access_token&service=<registry>&tenant=<tenant>&access_token=<token>`, answered with
/// `{"refresh_token": "…"}`. Transient failures are tried again within a small budget; a refusal is
/// `registry-unauthorized` at once.
public struct ACRTokenExchange: Sendable {
    /// Three tries, waiting about 0.5 and 1 s between them.
    public static let defaultRetry = RetryPolicy(attempts: 3, initialDelay: .milliseconds(500), multiplier: 2,
                                                 maxDelay: .seconds(4), jitter: 0.2, perAttemptTimeout: .seconds(30))

    public let transport: CurlTransport
    public var retry: RetryPolicy
    var clock: any RetryClock = SystemRetryClock()

    public init(transport: CurlTransport, retry: RetryPolicy = ACRTokenExchange.defaultRetry) {
        self.transport = transport
        self.retry = retry
    }

    /// `<scheme>://<registry host>/oauth2/exchange`.
    public static func url(registryHost: String, scheme: String) -> String { "\(scheme)://\(registryHost)/oauth2/exchange" }

    /// The refresh token, or `StepRetry.Exhausted`.
    public func refreshToken(registryHost: String, scheme: String, tenantID: String?, accessToken: String,
                             deadline: ContinuousClock.Instant?) async throws -> String {
        try await StepRetry(policy: retry, clock: clock).run(deadline: deadline) { _ in
            try await once(registryHost: registryHost, scheme: scheme, tenantID: tenantID, accessToken: accessToken, deadline: deadline)
        }
    }

    func once(registryHost: String, scheme: String, tenantID: String?, accessToken: String,
              deadline: ContinuousClock.Instant?) async throws -> String {
        var form = [("grant_type", "access_token"), ("service", registryHost)]
        if let tenantID { form.append(("tenant", tenantID)) }
        form.append(("access_token", accessToken))
        var headers = HTTPHeaders()
        headers.set("Content-Type", "application/x-www-form-urlencoded")
        headers.set("Accept", "application/json")
        let url = Self.url(registryHost: registryHost, scheme: scheme)
        let request = HTTPRequest(method: "POST", url: url, headers: headers, body: Data(TokenService.formEncode(form).utf8),
                                  deadline: .capped(retry.perAttemptTimeout, by: deadline), followRedirects: false)
        let what = "token exchange at \(url)"
        let response: HTTPResponse
        do {
            response = try await transport.send(request) { _ in .collect(limit: 1 << 20) }
        } catch {
            throw FailureClassification.registry.error(for: error, what: what)
        }
        switch response.status {
        case 200..<300:
            break
        case 400, 401, 403:
            throw PkgfetchError(.registryUnauthorized, "\(what): refused (HTTP \(response.status))", status: response.status)
        case 404:
            throw PkgfetchError(.registryUnauthorized, "\(what): HTTP 404 (the registry offers no token exchange: is it an Azure Container Registry?)",
                                status: 404)
        default:
            throw FailureClassification.registry.error(for: HTTPStatusError(head: response.head, body: Data()), what: what)
        }
        guard let object = JSONAny.parse(response.body) as? [String: Any],
              let token = object["refresh_token"] as? String, !token.isEmpty else {
            throw PkgfetchError(.registryUnauthorized, "\(what): answered without a refresh_token")
        }
        return token
    }
}
