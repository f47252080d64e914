/// What went wrong, in words that fit every backend. A fetcher says which reason a failure has and the
/// runner does the rest: `RetryPolicy` decides from the reason whether another try can help, and
/// `ExitCodeTable` turns the reason and the source's scheme into the stable exit code.
public enum FailureReason: String, CaseIterable, Sendable, Codable {
    /// The source has no such content (HTTP 404/410, a missing tag or blob, no such file).
    case notFound = "not-found"
    /// The source refused access (HTTP 401/403 after credentials were tried).
    case unauthorized
    /// The source could not be reached or answered with a failure that may pass: a refused or broken
    /// connection, HTTP 408/429/5xx. Worth another try.
    case unavailable
    /// An attempt ran out of time (its timeout, a stall). Worth another try while the run has time.
    case timeout
    /// The run's deadline passed or the run was cancelled: no try is left.
    case cancelled
    /// The source answered, but with something that will not change on another try: another 4xx, a
    /// TLS failure, too many redirects, an answer that breaks its protocol.
    case rejected
    /// The source holds the package, but nothing in it matches what was asked (a platform, a layer).
    case noMatch = "no-match"
    /// The bytes are not what was promised (digest or size).
    case integrity
    /// The content is larger than the size limit (`--max-size`).
    case tooLarge = "too-large"
    /// An archive is corrupt or of a format nobody unpacks.
    case corrupt
    /// An archive holds an entry that would escape its directory, or is otherwise refused.
    case unsafe
    /// The destination (or the staging beside it) cannot be written.
    case destination
    /// Bad flags or flag values (the request itself is wrong).
    case invalidRequest = "invalid-request"
    /// The request names nothing a resolver can plan.
    case unresolved
    /// No source of the plan can be fetched by a registered fetcher.
    case noFetcher = "no-fetcher"
    /// Stopped by a signal.
    case stopped
    /// A bug in pkgfetch.
    case bug
}
