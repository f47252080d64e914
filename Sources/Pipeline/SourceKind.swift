import Synchronization

/// What kind of place a source is, for events: a node's telemetry counts cache hits, CDN downloads,
/// bootstrap-registry pulls and mirror pulls apart.
public enum SourceKind: String, Sendable, Codable {
    /// A pre-cached copy on the node.
    case cache
    /// A download over HTTP(S).
    case cdn
    /// A pull from the bootstrap registry.
    case registry
    /// A pull from another registry host than the plan's.
    case mirror

    /// `reference` is the plan's registry reference: an OCI source on another host is a mirror of it.
    /// Nil for a scheme a plugin added, which none of these describes.
    public init?(_ source: Source, reference: String?) {
        if let declared = Self.declared.withLock({ $0[source.scheme.lowercased()] }) {
            self = declared == .registry && reference.map { Self.host(of: $0) != Self.host(of: source.location) } == true ? .mirror : declared
            return
        }
        switch source.scheme {
        case "file": self = .cache
        case "http", "https": self = .cdn
        case "oci": self = reference.map { Self.host(of: $0) != Self.host(of: source.location) } == true ? .mirror : .registry
        default: return nil
        }
    }

    /// As above, and a registry source whose bytes came from another host (`servedBy`, a mirror from
    /// containerd's hosts.toml) is a mirror.
    public init?(_ source: Source, reference: String?, servedBy: String?) {
        self.init(source, reference: reference)
        if self == .registry, let servedBy {
            let served = servedBy.split(separator: "://", maxSplits: 1).last.map { Self.host(of: String($0)) } ?? ""
            if served != Self.host(of: source.location) { self = .mirror }
        }
    }

    /// The kinds registered backends declared (`BackendDescriptor.sourceKind`), by scheme.
    private static let declared = Mutex<[String: SourceKind]>([:])

    /// Makes `kind` what events call `schemes`' sources (`PluginRegistry.register(_:fetcher:)`).
    public static func declare(_ kind: SourceKind, forSchemes schemes: [String]) {
        declared.withLock { declared in for scheme in schemes { declared[scheme.lowercased()] = kind } }
    }

    private static func host(of reference: String) -> Substring {
        reference.split(separator: "/", maxSplits: 1).first ?? ""
    }
}
