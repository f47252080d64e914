import SourcesHTTP

/// One place a registry's content can be fetched from, as containerd's `hosts.toml` describes it: the
/// registry itself, or a mirror (a pull-through cache, a node-local P2P mirror, a copy elsewhere) that
/// stands in for it. The hosts of a registry are tried in order; `RegistryHosts` builds the list.
public struct RegistryHost: Sendable, Equatable {
    /// What a host may be asked for (containerd's `capabilities`).
    public struct Capabilities: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Content by digest: manifests and blobs.
        public static let pull = Capabilities(rawValue: 1)
        /// A tag turned into a digest: trusted, so a public mirror should not have it.
        public static let resolve = Capabilities(rawValue: 2)
        public static let push = Capabilities(rawValue: 4)
        public static let referrers = Capabilities(rawValue: 8)
        /// What a host has when its entry names none.
        public static let all: Capabilities = [.pull, .resolve, .push, .referrers]
    }

    /// How this host's TLS differs from the shared transport's (`ca`, `client`, `skip_verify`).
    public struct TLS: Sendable, Hashable {
        /// CA certificates (PEM files) trusted besides the system's.
        public var caFiles: [String] = []
        /// Client certificate and key files; an empty key means the certificate file holds the key too.
        public var clientPairs: [ClientPair] = []
        /// `skip_verify`: nil when the file does not say.
        public var skipVerify: Bool?

        public init(caFiles: [String] = [], clientPairs: [ClientPair] = [], skipVerify: Bool? = nil) {
            self.caFiles = caFiles
            self.clientPairs = clientPairs
            self.skipVerify = skipVerify
        }

        /// Whether the shared transport will do.
        public var isDefault: Bool { caFiles.isEmpty && clientPairs.isEmpty && skipVerify == nil }
    }

    /// A client certificate and its key.
    public struct ClientPair: Sendable, Hashable {
        public var certificate: String
        public var key: String
    }

    /// `http` or `https`.
    public var scheme: String
    /// `host[:port]`, lower-cased.
    public var host: String
    /// The API root requests go under: `/v2` for a registry, `/prefix/v2` for a mirror under a path,
    /// or the path as written (`override_path`).
    public var path: String
    public var capabilities: Capabilities
    /// `[header]`: sent with every request to this host.
    public var headers: HTTPHeaders
    public var tls: TLS
    /// `dial_timeout`: how long a connection to this host may take to open (nil: the shared one).
    public var dialTimeout: Duration?
    /// The registry this host stands for (`host[:port]` of the reference).
    public var namespace: String

    public init(scheme: String, host: String, path: String = "/v2", capabilities: Capabilities = .all,
                headers: HTTPHeaders = HTTPHeaders(), tls: TLS = TLS(), dialTimeout: Duration? = nil, namespace: String) {
        self.scheme = scheme
        self.host = host
        self.path = path
        self.capabilities = capabilities
        self.headers = headers
        self.tls = tls
        self.dialTimeout = dialTimeout
        self.namespace = namespace
    }

    /// Whether this host is not the registry itself, so requests carry `?ns=<registry>` (as containerd
    /// sends them; a mirror serving several registries tells them apart by it). docker.io's API host
    /// is docker.io itself.
    public var isMirror: Bool {
        host != namespace && host != DockerHub.apiHost(for: namespace)
    }

    /// `scheme://host`, for messages and events.
    public var origin: String { "\(scheme)://\(host)" }

    /// The URL of `tail` (`manifests/<ref>`, `blobs/<digest>`) in `repository`, with `query` items
    /// (`name=value`, encoded) and `ns=` for a mirror.
    public func url(repository: String, _ tail: String, query: [String] = []) -> String {
        let items = query + (isMirror ? ["ns=\(TokenService.queryEncode(namespace))"] : [])
        let base = "\(origin)\(path)/\(repository)/\(tail)"
        return items.isEmpty ? base : "\(base)?\(items.joined(separator: "&"))"
    }

    /// One line for `resolve`: `https://mirror:5000/v2 (pull) mirror`.
    public var summary: String {
        var names: [String] = []
        if capabilities.contains(.pull) { names.append("pull") }
        if capabilities.contains(.resolve) { names.append("resolve") }
        var text = "\(origin)\(path) (\(names.isEmpty ? "none" : names.joined(separator: ", ")))"
        if isMirror { text += " mirror of \(namespace)" }
        if let dialTimeout { text += ", dial timeout \(dialTimeout)" }
        if !tls.caFiles.isEmpty { text += ", own CA" }
        if !tls.clientPairs.isEmpty { text += ", client certificate" }
        if tls.skipVerify == true { text += ", TLS not verified" }
        if !headers.fields.isEmpty { text += ", \(headers.fields.count) header(s)" }
        return text
    }
}
