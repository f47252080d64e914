/// What went wrong, as a stable exit code and a name. The table is public interface:
/// scripts branch on these numbers, so a code is never reused or renumbered.
public enum ErrorKind: Int32, CaseIterable, Sendable, Codable {
    case ok = 0
    case `internal` = 1
    case usage = 2
    case resolveFailed = 10
    case noSource = 11
    case httpDownloadFailed = 20
    case httpNotFound = 21
    case orasPullFailed = 30
    case registryUnauthorized = 31
    case artifactNotFound = 32
    case noMatchingContent = 33
    case networkTimeout = 40
    case identityTokenFailed = 41
    case integrityMismatch = 50
    case unpackFailed = 60
    case unsafeArchive = 61
    case destinationIO = 70
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
        case .noMatchingContent: "index has no matching platform, or no layer matches the file"
        case .networkTimeout: "per-attempt timeout or overall deadline hit"
        case .identityTokenFailed: "no token from the identity endpoint"
        case .integrityMismatch: "digest or size differs from what was expected"
        case .unpackFailed: "corrupt or unsupported archive"
        case .unsafeArchive: "an entry would escape the destination (or is otherwise refused)"
        case .destinationIO: "cannot write/rename into the destination (permissions, disk full)"
        case .interrupted: "stopped by SIGINT, SIGTERM or SIGHUP; staging removed, installs in flight finished"
        }
    }
}
