/// Whether a registry is spoken to over plain HTTP or HTTPS, as oras decides it: HTTPS unless
/// `--plain-http` is given, the registry value said `http://`, or the host is a loopback name
/// (`localhost`, `127.0.0.1`, `[::1]`, any port). A value that said `https://` keeps HTTPS even
/// on loopback, which is how a TLS registry on 127.0.0.1 is reached.
public struct RegistrySchemePolicy: Sendable, Equatable {
    public var alwaysPlainHTTP: Bool
    /// Hosts (`host[:port]`) the user named with `http://`.
    public var plainHTTPHosts: Set<String>
    /// Hosts the user named with `https://`.
    public var httpsHosts: Set<String>

    public init(alwaysPlainHTTP: Bool = false, plainHTTPHosts: Set<String> = [], httpsHosts: Set<String> = []) {
        self.alwaysPlainHTTP = alwaysPlainHTTP
        self.plainHTTPHosts = Set(plainHTTPHosts.map { $0.lowercased() })
        self.httpsHosts = Set(httpsHosts.map { $0.lowercased() })
    }

    static let loopbackNames: Set<String> = ["localhost", "127.0.0.1", "[::1]"]

    /// `http` or `https` for `host[:port]`.
    public func scheme(for host: String) -> String {
        let host = host.lowercased()
        if alwaysPlainHTTP || plainHTTPHosts.contains(host) { return "http" }
        if httpsHosts.contains(host) { return "https" }
        return Self.loopbackNames.contains(Self.name(of: host)) ? "http" : "https"
    }

    /// The host without its port: `[::1]:5000` → `[::1]`, `localhost:5000` → `localhost`.
    static func name(of host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") { return String(host[...close]) }
        return host.split(separator: ":", maxSplits: 1).first.map(String.init) ?? host
    }
}
