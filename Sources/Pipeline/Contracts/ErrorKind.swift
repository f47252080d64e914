/// What went wrong, as a stable exit code and a name. The table is public interface:
/// scripts branch on these numbers, so a code is never reused or renumbered.
public enum ErrorKind: Int32, CaseIterable, Sendable, Codable {
    /// Success.
    case ok = 0
    /// A bug in pkgfetch.
    case `internal` = 1
    /// Bad flags or flag values.
    case usage = 2
    /// The URL matches no rule or cannot be parsed.
    case resolveFailed = 10
    /// No registered fetcher handles any source of the plan.
    case noSource = 11
    /// A download failed after its retries.
    case httpDownloadFailed = 20
    /// The server says the file does not exist.
    case httpNotFound = 21
    /// A registry pull failed after its retries.
    case orasPullFailed = 30
    /// The registry refused every credential offered.
    case registryUnauthorized = 31
    /// The registry has no such tag or digest.
    case artifactNotFound = 32
    /// The artifact holds no layer or platform that fits.
    case noMatchingContent = 33
    /// An attempt or the whole run ran out of time.
    case networkTimeout = 40
    /// The cloud identity could not get a token.
    case identityTokenFailed = 41
    /// The bytes are not what was promised (digest or size).
    case integrityMismatch = 50
    /// The archive is damaged or exceeds a limit.
    case unpackFailed = 60
    /// The archive tries to write outside its directory.
    case unsafeArchive = 61
    /// The destination could not be written.
    case destinationIO = 70
    /// A signal stopped the run.
    case interrupted = 130

    /// The process exit code.
    public var exitCode: Int32 { rawValue }

    /// The kebab-case name printed in `error[...]` and in events.
    public var name: String {
        switch self {
        case .ok: "ok"
        case .internal: "internal"
        case .usage: "usage"
        case .resolveFailed: "resolve-failed"
        case .noSource: "no-source"
        case .httpDownloadFailed: "http-download-failed"
        case .httpNotFound: "http-not-found"
        case .orasPullFailed: "oras-pull-failed"
        case .registryUnauthorized: "registry-unauthorized"
        case .artifactNotFound: "artifact-not-found"
        case .noMatchingContent: "no-matching-content"
        case .networkTimeout: "network-timeout"
        case .identityTokenFailed: "identity-token-failed"
        case .integrityMismatch: "integrity-mismatch"
        case .unpackFailed: "unpack-failed"
        case .unsafeArchive: "unsafe-archive"
        case .destinationIO: "destination-io"
        case .interrupted: "interrupted"
        }
    }

    /// One line on when the code is used; printed by `pkgfetch exit-codes`.
    public var summary: String {
        switch self {
        case .ok: "success"
        case .internal: "a bug in pkgfetch; the message says so"
        case .usage: "bad flags or flag values"
        case .resolveFailed: "the URL matches no rule or cannot be parsed"
        case .noSource: "the plan has no source a registered fetcher can handle"
        case .httpDownloadFailed: "HTTP retries exhausted"
        case .httpNotFound: "404/410 from the CDN (not retried)"
        case .orasPullFailed: "registry retries exhausted"
        case .registryUnauthorized: "401/403 after credentials were tried"
        case .artifactNotFound: "tag, manifest or layer not in the registry"
        case .noMatchingContent: "index has no matching platform, or no layer matches the file; or shaping (--include, --strip-components, --rename) found nothing to install"
        case .networkTimeout: "per-attempt timeout or overall deadline hit"
        case .identityTokenFailed: "no token from the identity endpoint"
        case .integrityMismatch: "digest or size differs from what was expected"
        case .unpackFailed: "corrupt or unsupported archive, or libarchive (libarchive13) cannot be loaded"
        case .unsafeArchive: "an entry would escape the destination (or is otherwise refused)"
        case .destinationIO: "cannot write/rename into the destination (permissions, disk full)"
        case .interrupted: "stopped by SIGINT, SIGTERM or SIGHUP; staging removed, installs in flight finished"
        }
    }
}
