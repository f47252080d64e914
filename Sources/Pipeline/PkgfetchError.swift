/// The one error type that crosses plugin boundaries. The kind decides the exit code; `retryable`
/// (set by whoever saw the failure) decides whether the runner tries the same source again.
public struct PkgfetchError: Error, Sendable, CustomStringConvertible {
    public var kind: ErrorKind
    /// One line, safe to print: never a secret, a token or a signed URL's query. Control and
    /// bidirectional characters from outside are escaped (PrintableLine), here and on every change.
    public var message: String { didSet { message = PrintableLine.escaping(message) } }
    public var retryable: Bool
    /// A server's `Retry-After`, when it gave one; the runner waits at least this long.
    public var retryAfter: Duration?
    /// The HTTP status behind the failure, when there was one (for events).
    public var status: Int?

    public init(_ kind: ErrorKind, _ message: String, retryable: Bool = false, retryAfter: Duration? = nil,
                status: Int? = nil) {
        self.kind = kind
        self.message = PrintableLine.escaping(message)
        self.retryable = retryable
        self.retryAfter = retryAfter
        self.status = status
    }

    public var description: String { "error[\(kind.name)]: \(message)" }

    /// Wraps anything thrown by code that is not ours into an error with a kind.
    public static func from(_ error: any Error, default kind: ErrorKind = .internal) -> PkgfetchError {
        if let known = error as? PkgfetchError { return known }
        if error is CancellationError { return PkgfetchError(.networkTimeout, "cancelled: the deadline was reached") }
        let text = kind == .internal ? "unexpected error (a bug in pkgfetch): \(error)" : "\(error)"
        return PkgfetchError(kind, text)
    }
}
