#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP

/// Gets a Microsoft Entra access token for the node's managed identity from the Azure Instance
/// Metadata Service: `GET <endpoint>?api-version=2018-02-01&resource=…&client_id=…` with
/// `Metadata: true`, always direct (a proxy must never see this request, and IMDS refuses proxied
/// ones), never following redirects. Tried a few times with backoff: on a booting node IMDS is
/// often slow to come up.
public struct IMDSClient: Sendable {
    public static let defaultEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"
    public static let apiVersion = "2018-02-01"
    /// Five tries, waiting about 0.5, 1, 2, 4 s between them.
    public static let defaultRetry = RetryPolicy(attempts: 5, initialDelay: .milliseconds(500), multiplier: 2,
                                                 maxDelay: .seconds(8), jitter: 0.2, perAttemptTimeout: .seconds(20))

    public let transport: CurlTransport
    public var endpoint: String
    public var clientID: String
    public var retry: RetryPolicy
    /// A link-local endpoint either answers a connect at once or is not there.
    public var connectTimeout: Duration = .seconds(3)
    var clock: any RetryClock = SystemRetryClock()

    public init(transport: CurlTransport, endpoint: String = IMDSClient.defaultEndpoint, clientID: String,
                retry: RetryPolicy = IMDSClient.defaultRetry) {
        self.transport = transport
        self.endpoint = endpoint
        self.clientID = clientID
        self.retry = retry
    }

    /// An Entra access token; its text is a secret and never printed.
    public struct AccessToken: Sendable {
        public var value: String
        public var resource: String
        /// `expires_in`, which IMDS sends as a string.
        public var lifetime: Duration?
    }

    /// Statuses worth another try: the shared table, and 404 and 410, which IMDS documents while it or
    /// the identity is not ready yet.
    static let retryableStatuses = FailureClassification.retryableStatuses.union([404, 410])

    /// The token for `resource`, or `StepRetry.Exhausted` (whose failures are `identity-token-failed`).
    public func accessToken(resource: String, deadline: ContinuousClock.Instant?) async throws -> AccessToken {
        try await StepRetry(policy: retry, clock: clock).run(deadline: deadline) { _ in
            try await once(resource: resource, deadline: deadline)
        }
    }

    /// The request URL: the endpoint with the query IMDS expects.
    public func url(resource: String) -> String {
        let query = [("api-version", Self.apiVersion), ("resource", resource), ("client_id", clientID)]
        let separator = endpoint.contains("?") ? "&" : "?"
        return endpoint + separator + TokenService.formEncode(query)
    }

    func once(resource: String, deadline: ContinuousClock.Instant?) async throws -> AccessToken {
        var headers = HTTPHeaders()
        headers.set("Metadata", "true")
        headers.set("Accept", "application/json")
        let request = HTTPRequest(url: url(resource: resource), headers: headers,
                                  deadline: .capped(retry.perAttemptTimeout, by: deadline), connectTimeout: connectTimeout,
                                  stallTimeout: .seconds(10), followRedirects: false, bypassProxy: true)
        let response: HTTPResponse
        do {
            response = try await transport.send(request) { _ in .collect(limit: 256 << 10) }
        } catch let failure as TransportError {
            throw PkgfetchError(.identityTokenFailed, failure.message, retryable: failure.isTransient)
        } catch {
            throw PkgfetchError.from(error, default: .identityTokenFailed)
        }
        guard (200..<300).contains(response.status) else {
            throw PkgfetchError(.identityTokenFailed, "HTTP \(response.status)\(Self.errorDetail(response.body))",
                                retryable: Self.retryableStatuses.contains(response.status) || response.status >= 500,
                                retryAfter: response.head.retryAfter, status: response.status)
        }
        guard let object = JSONAny.parse(response.body) as? [String: Any],
              let token = object["access_token"] as? String, !token.isEmpty else {
            throw PkgfetchError(.identityTokenFailed, "HTTP \(response.status) without an access_token")
        }
        return AccessToken(value: token, resource: resource, lifetime: ServerNumber.seconds(object["expires_in"], in: TokenService.lifetimes))
    }

    /// ` (invalid_request: Identity not found)` from an IMDS error body, on one short line; nothing else of the body.
    static func errorDetail(_ body: Data) -> String {
        guard let object = JSONAny.parse(body) as? [String: Any] else { return "" }
        let parts = [object["error"], object["error_description"]].compactMap { $0 as? String }.filter { !$0.isEmpty }
        guard !parts.isEmpty else { return "" }
        let text = parts.joined(separator: ": ").split(whereSeparator: \.isNewline).joined(separator: " ")
        return " (\(text.prefix(160)))"
    }
}
