/// The one error type that crosses plugin boundaries: a backend-neutral `reason` (which decides
/// retries, see `RetryPolicy`), the scheme of the source it is about, and a one-line message. The
/// exit code (`kind`) comes from `ExitCodeTable`, unless the thrower named one.
public struct PkgfetchError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, whatever the backend.
    public var reason: FailureReason
    /// The scheme of the source the failure is about (`https`, `oci`, `s3`, …); nil for failures that
    /// are not about a source. The runner fills it in for a fetcher's errors.
    public var scheme: String?
    /// One line, safe to print: never a secret, a token or a signed URL's query. Control and
    /// bidirectional characters from outside are escaped (PrintableLine), here and on every change.
    public var message: String { didSet { message = PrintableLine.escaping(message) } }
    /// A server's `Retry-After`, when it gave one; the runner waits at least this long.
    public var retryAfter: Duration?
    /// The protocol status behind the failure, when there was one (for events).
    public var status: Int?
    /// The exit code the thrower chose, for code that names one (`PkgfetchError(.identityTokenFailed, …)`).
    private var namedKind: ErrorKind?

    /// A failure for `reason` about a source of `scheme`: the exit code follows from the two.
    public init(_ reason: FailureReason, _ message: String, scheme: String? = nil, retryAfter: Duration? = nil,
                status: Int? = nil) {
        self.reason = reason
        self.scheme = scheme?.lowercased()
        self.message = PrintableLine.escaping(message)
        self.retryAfter = retryAfter
        self.status = status
    }

    /// A failure with a named exit code. `retryable` picks the reason (a transient failure or not).
    public init(_ kind: ErrorKind, _ message: String, retryable: Bool = false, retryAfter: Duration? = nil,
                status: Int? = nil) {
        var (reason, scheme) = kind.reason(retryable: retryable)
        if retryable, !RetryPolicy.retries(reason) { reason = .unavailable }
        self.init(reason, message, scheme: scheme, retryAfter: retryAfter, status: status)
        namedKind = kind
    }

    /// The stable exit code and its name.
    public var kind: ErrorKind { namedKind ?? ExitCodeTable.kind(for: reason, scheme: scheme) }

    /// Whether another attempt could succeed (`RetryPolicy`'s table of reasons).
    public var retryable: Bool { RetryPolicy.retries(reason) }

    /// The same failure, about a source of `scheme` when it did not say (a fetcher's error, as the
    /// runner stamps it).
    public func about(scheme: String) -> PkgfetchError {
        guard self.scheme == nil, namedKind == nil else { return self }
        var copy = self
        copy.scheme = scheme.lowercased()
        return copy
    }

    /// `error[<kind name>]: <message>`, as printed.
    public var description: String { "error[\(kind.name)]: \(message)" }

    /// Wraps anything thrown by code that is not ours into an error with a kind.
    public static func from(_ error: any Error, default kind: ErrorKind = .internal) -> PkgfetchError {
        if let known = error as? PkgfetchError { return known }
        if error is CancellationError { return PkgfetchError(.cancelled, "cancelled: the deadline was reached") }
        let text = kind == .internal ? "unexpected error (a bug in pkgfetch): \(error)" : "\(error)"
        return PkgfetchError(kind, text)
    }
}
