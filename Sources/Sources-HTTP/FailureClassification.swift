import Pipeline

/// Turns what the transport saw into a `PkgfetchError` with the right kind and retry decision. The
/// HTTP and ORAS fetchers share the rules and differ only in the kinds they report.
public struct FailureClassification: Sendable {
    /// Reported when a retryable failure persists (`http-download-failed`, `oras-pull-failed`).
    public var exhausted: ErrorKind
    /// Reported for 404/410 (`http-not-found`, `artifact-not-found`).
    public var notFound: ErrorKind

    public init(exhausted: ErrorKind, notFound: ErrorKind) {
        self.exhausted = exhausted
        self.notFound = notFound
    }

    public static let http = FailureClassification(exhausted: .httpDownloadFailed, notFound: .httpNotFound)
    public static let registry = FailureClassification(exhausted: .orasPullFailed, notFound: .artifactNotFound)

    /// Statuses worth another try: the server or something in front of it may recover.
    public static let retryableStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

    public func error(for failure: any Error, what: String) -> PkgfetchError {
        switch failure {
        case let status as HTTPStatusError:
            let code = status.status
            if code == 404 || code == 410 {
                return PkgfetchError(notFound, "\(what): HTTP \(code) (not found)", status: code)
            }
            let retryable = Self.retryableStatuses.contains(code)
            let retryAfter = (code == 429 || code == 503) ? status.head.retryAfter : nil
            return PkgfetchError(exhausted, "\(what): HTTP \(code)", retryable: retryable, retryAfter: retryAfter, status: code)
        case let transport as TransportError:
            switch transport.kind {
            case .timedOut:
                return PkgfetchError(.networkTimeout, "\(what): timed out (\(transport.message))", retryable: true)
            case .cancelled:
                return PkgfetchError(.networkTimeout, "\(what): cancelled at the deadline")
            case .connection, .partial:
                return PkgfetchError(exhausted, "\(what): \(transport.message)", retryable: true)
            case .tls, .tooManyRedirects, .other:
                return PkgfetchError(exhausted, "\(what): \(transport.message)")
            }
        default:
            return PkgfetchError.from(failure, default: exhausted)
        }
    }
}
