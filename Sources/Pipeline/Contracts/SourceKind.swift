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

    /// What the backend registered for `source`'s scheme declared (`BackendDescriptor.sourceKind`); a
    /// registry source on another host than the plan's `reference` is a mirror of it. Nil for a scheme
    /// whose backend declared no kind (a helper executable's).
    public init?(_ source: Source, reference: String?) {
        guard let declared = Self.declared.withLock({ $0[source.scheme.lowercased()] }) else { return nil }
        self = declared == .registry && reference.map { Self.host(of: $0) != Self.host(of: source.location) } == true ? .mirror : declared
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
