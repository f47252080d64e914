/// The one error type that crosses plugin boundaries: a backend-neutral `reason` (which decides
/// retries, see `RetryPolicy`), the scheme of the source it is about, and a one-line message. The
/// exit code (`kind`) and the printed `name` come from the backend's `FailureFamily` (given, or
/// declared for the scheme), unless the thrower named a code.
public struct PkgfetchError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, whatever the backend.
    public var reason: FailureReason
    /// The scheme of the source the failure is about (`https`, `oci`, `s3`, …); nil for failures that
    /// are not about a source. The runner fills it in for a fetcher's errors.
    public var scheme: String?
    /// How the backend that failed numbers and names its failures; nil: what its scheme's backend
    /// declared (`ExitCodeTable.family(of:)`), else a family named after the scheme.
    public var family: FailureFamily?
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
    public init(_ reason: FailureReason, _ message: String, scheme: String? = nil, family: FailureFamily? = nil,
                retryAfter: Duration? = nil, status: Int? = nil) {
        self.reason = reason
        self.scheme = scheme?.lowercased()
        self.family = family
        self.message = PrintableLine.escaping(message)
        self.retryAfter = retryAfter
        self.status = status
    }

    /// A failure with a named exit code. `retryable` picks the reason (a transient failure or not).
    public init(_ kind: ErrorKind, _ message: String, retryable: Bool = false, retryAfter: Duration? = nil,
                status: Int? = nil) {
        var reason = kind.reason(retryable: retryable)
        if retryable, !RetryPolicy.retries(reason) { reason = .unavailable }
        self.init(reason, message, retryAfter: retryAfter, status: status)
        namedKind = kind
    }

    /// The stable exit code and its name.
    public var kind: ErrorKind { namedKind ?? ExitCodeTable.kind(for: reason, codes: backendFamily?.codes ?? .download) }

    /// The name printed in `error[…]` and events: the named code's, else the backend's for its own
    /// failures (`http-not-found`, `teamstore-unavailable`), else the code's.
    public var name: String { namedKind?.name ?? backendFamily?.name(for: reason) ?? kind.name }

    /// The family of the backend the failure is about: given, declared for the scheme, or the scheme's own.
    private var backendFamily: FailureFamily? { family ?? ExitCodeTable.family(of: scheme) ?? scheme.map { FailureFamily($0) } }

    /// Whether another attempt could succeed (`RetryPolicy`'s table of reasons).
    public var retryable: Bool { RetryPolicy.retries(reason) }

    /// The same failure, about a source of `scheme` (of `family`, when given) when it did not say (a
    /// fetcher's error, as the runner stamps it).
    public func about(scheme: String, family: FailureFamily? = nil) -> PkgfetchError {
        guard self.scheme == nil, self.family == nil, namedKind == nil else { return self }
        var copy = self
        copy.scheme = scheme.lowercased()
        copy.family = family
        return copy
    }

    /// `error[<name>]: <message>`, as printed.
    public var description: String { "error[\(name)]: \(message)" }

    /// Wraps anything thrown by code that is not ours into an error with a kind.
    public static func from(_ error: any Error, default kind: ErrorKind = .internal) -> PkgfetchError {
        if let known = error as? PkgfetchError { return known }
        if error is CancellationError { return PkgfetchError(.cancelled, "cancelled: the deadline was reached") }
        let text = kind == .internal ? "unexpected error (a bug in pkgfetch): \(error)" : "\(error)"
        return PkgfetchError(kind, text)
    }
}
