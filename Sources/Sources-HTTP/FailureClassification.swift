import Pipeline

/// Turns what the transport saw into a `PkgfetchError` with a backend-neutral reason: the one table of
/// what an HTTP status or a transport failure means. The family of the backend it is about picks the
/// exit code and the name (`FailureFamily`), so the CDN and the registry share these rules.
public struct FailureClassification: Sendable {
    /// The scheme the failures are about (`https`, `oci`).
    public var scheme: String
    /// How the backend numbers and names them.
    public var family: FailureFamily

    /// Failures about sources of `scheme`, of the backend whose failures are `family`.
    public init(scheme: String, family: FailureFamily) {
        self.scheme = scheme
        self.family = family
    }

    /// For the CDN (`http-…` exit codes).
    public static let http = FailureClassification(scheme: "https", family: HTTPFetcher.failures)

    /// Statuses worth another try: the server or something in front of it may recover.
    public static let retryableStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

    /// What an HTTP status means.
    public static func reason(forStatus status: Int) -> FailureReason {
        switch status {
        case 404, 410: .notFound
        case 401, 403: .unauthorized
        case _ where retryableStatuses.contains(status): .unavailable
        default: .rejected
        }
    }

    /// The error for `failure` (an `HTTPStatusError`, a `TransportError`, or anything else) about `what`.
    public func error(for failure: any Error, what: String) -> PkgfetchError {
        switch failure {
        case let known as PkgfetchError:
            return known.about(scheme: scheme, family: family)
        case let status as HTTPStatusError:
            let code = status.status
            let reason = Self.reason(forStatus: code)
            let detail: String = switch reason {
            case .notFound: " (not found)"
            case .unauthorized: " (access denied)"
            default: ""
            }
            let retryAfter = (code == 429 || code == 503) ? status.head.retryAfter : nil
            return PkgfetchError(reason, "\(what): HTTP \(code)\(detail)", scheme: scheme, family: family, retryAfter: retryAfter, status: code)
        case let transport as TransportError:
            let reason: FailureReason = switch transport.kind {
            case .timedOut: .timeout
            case .cancelled: .cancelled
            case .connection, .partial: .unavailable
            case .tls, .tooManyRedirects, .other: .rejected
            }
            let text = switch transport.kind {
            case .timedOut: "timed out (\(transport.message))"
            case .cancelled: "cancelled at the deadline"
            default: transport.message
            }
            return PkgfetchError(reason, "\(what): \(text)", scheme: scheme, family: family)
        case is CancellationError:
            return PkgfetchError(.cancelled, "\(what): cancelled at the deadline", scheme: scheme, family: family)
        default:
            return PkgfetchError(.rejected, "\(what): \(failure)", scheme: scheme, family: family)
        }
    }
}
