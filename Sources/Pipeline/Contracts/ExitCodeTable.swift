import Synchronization

/// The one table from a failure to its stable exit code: a reason, and for the reasons where the
/// backend matters, the row of codes its `FailureFamily` names. The families come from the backends'
/// descriptors as they are registered; a scheme nothing declared (a helper executable's) takes a
/// download's codes, so a new backend gets sensible codes without a line here.
public enum ExitCodeTable {
    /// Which row of codes a backend's failures use.
    public enum Family: Sendable, Hashable {
        /// Whatever is downloaded by URL: the `http-…` codes (20, 21).
        case download
        /// An OCI registry: the registry codes (30, 31, 32).
        case registry
        /// A local file: `no-source` (11).
        case local
    }

    /// The families registered backends declared (`BackendDescriptor.failures`), by scheme.
    private static let declared = Mutex<[String: FailureFamily]>([:])

    /// Makes `family` how `schemes`' failures are numbered and named (`PluginRegistry.register(_:fetcher:)`).
    public static func declare(_ family: FailureFamily, forSchemes schemes: [String]) {
        declared.withLock { declared in for scheme in schemes { declared[scheme.lowercased()] = family } }
    }

    /// The family a registered backend declared for `scheme`; nil when none did.
    public static func family(of scheme: String?) -> FailureFamily? {
        guard let scheme = scheme?.lowercased() else { return nil }
        return declared.withLock { $0[scheme] }
    }

    /// The exit code of a failure with `reason` about a source of `scheme`.
    public static func kind(for reason: FailureReason, scheme: String?) -> ErrorKind {
        kind(for: reason, codes: family(of: scheme)?.codes ?? .download)
    }

    /// The exit code of a failure with `reason` in the row `codes`.
    public static func kind(for reason: FailureReason, codes family: Family) -> ErrorKind {
        switch reason {
        case .notFound:
            return [.download: .httpNotFound, .registry: .artifactNotFound, .local: .noSource][family]!
        case .unauthorized:
            // A CDN answers 401/403 like any other refusal; a registry's is about its credentials.
            return [.download: .httpDownloadFailed, .registry: .registryUnauthorized, .local: .noSource][family]!
        case .unavailable, .rejected:
            return [.download: .httpDownloadFailed, .registry: .orasPullFailed, .local: .noSource][family]!
        case .timeout, .cancelled: return .networkTimeout
        case .noMatch: return .noMatchingContent
        case .integrity, .tooLarge: return .integrityMismatch
        case .corrupt: return .unpackFailed
        case .unsafe: return .unsafeArchive
        case .destination: return .destinationIO
        case .invalidRequest: return .usage
        case .unresolved: return .resolveFailed
        case .noFetcher: return .noSource
        case .stopped: return .interrupted
        case .bug: return .internal
        }
    }
}

extension ErrorKind {
    /// The reason this code stands for, so `PkgfetchError(kind, …)` keeps working: the code itself is
    /// kept as given, and the reason decides retries.
    func reason(retryable: Bool) -> FailureReason {
        switch self {
        case .ok, .internal: .bug
        case .usage: .invalidRequest
        case .resolveFailed: .unresolved
        case .noSource: .noFetcher
        case .httpDownloadFailed, .orasPullFailed: retryable ? .unavailable : .rejected
        case .httpNotFound, .artifactNotFound: .notFound
        case .registryUnauthorized, .identityTokenFailed: retryable ? .unavailable : .unauthorized
        case .noMatchingContent: .noMatch
        case .networkTimeout: retryable ? .timeout : .cancelled
        case .integrityMismatch: .integrity
        case .unpackFailed: .corrupt
        case .unsafeArchive: .unsafe
        case .destinationIO: .destination
        case .interrupted: .stopped
        }
    }
}
