import Synchronization

/// The one table from a failure to its stable exit code: a reason, and for the reasons where the
/// backend matters, the family of the source's scheme. A scheme no row names is a download (the
/// `http-…` codes), so a new backend gets sensible codes without a line here.
public enum ExitCodeTable {
    /// Which row of codes a scheme's failures use.
    public enum Family: Sendable, Equatable {
        /// Whatever is downloaded by URL: http, https, and any scheme not listed.
        case download
        /// An OCI registry (`oci`).
        case registry
        /// A local file (`file`: a cache hit or a `file://` URL).
        case local
    }

    /// The families registered backends declared (`BackendDescriptor.failures`), by scheme.
    private static let declared = Mutex<[String: Family]>([:])

    /// What the built-in backends' descriptors declare, for the library used without the command
    /// (tests, a program of one's own that registers nothing).
    static let builtInFamilies: [String: Family] = ["oci": .registry, "file": .local]

    /// Makes `family` the row of codes of `schemes`' failures (`PluginRegistry.register(_:fetcher:)`).
    public static func declare(_ family: Family, forSchemes schemes: [String]) {
        declared.withLock { declared in for scheme in schemes { declared[scheme.lowercased()] = family } }
    }

    /// The family of `scheme` (nil: no source involved, a download's codes).
    public static func family(of scheme: String?) -> Family {
        guard let scheme = scheme?.lowercased() else { return .download }
        return declared.withLock { $0[scheme] } ?? builtInFamilies[scheme] ?? .download
    }

    /// The exit code of a failure with `reason` about a source of `scheme`.
    public static func kind(for reason: FailureReason, scheme: String?) -> ErrorKind {
        let family = family(of: scheme)
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
    /// The reason and scheme this code stands for, so `PkgfetchError(kind, …)` keeps working: the
    /// code itself is kept as given, and the reason decides retries.
    func reason(retryable: Bool) -> (FailureReason, scheme: String?) {
        switch self {
        case .ok, .internal: return (.bug, nil)
        case .usage: return (.invalidRequest, nil)
        case .resolveFailed: return (.unresolved, nil)
        case .noSource: return (.noFetcher, nil)
        case .httpDownloadFailed: return (retryable ? .unavailable : .rejected, "https")
        case .httpNotFound: return (.notFound, "https")
        case .orasPullFailed: return (retryable ? .unavailable : .rejected, "oci")
        case .registryUnauthorized: return (retryable ? .unavailable : .unauthorized, "oci")
        case .artifactNotFound: return (.notFound, "oci")
        case .noMatchingContent: return (.noMatch, "oci")
        case .networkTimeout: return (retryable ? .timeout : .cancelled, nil)
        case .identityTokenFailed: return (retryable ? .unavailable : .unauthorized, "oci")
        case .integrityMismatch: return (.integrity, nil)
        case .unpackFailed: return (.corrupt, nil)
        case .unsafeArchive: return (.unsafe, nil)
        case .destinationIO: return (.destination, nil)
        case .interrupted: return (.stopped, nil)
        }
    }
}
