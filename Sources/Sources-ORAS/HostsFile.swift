import Pipeline
import SourcesHTTP

/// One `hosts.toml`, read with containerd's meaning (`core/remotes/docker/config/hosts.go`): the
/// `[host."…"]` entries in file order, then `server` (the registry itself when absent) last. Paths
/// (`ca`, `client`) are relative to the file's directory. Keys containerd does not know are ignored,
/// as containerd ignores them (a file written for a newer containerd still works); a known key with
/// a value of the wrong type, an unknown capability, a bad URL or header is an error.
public struct HostsFile: Sendable, Equatable {
    /// One entry: the URL as written (nil for an absent `server`) and its settings.
    public struct Entry: Sendable, Equatable {
        /// `scheme://host[:port]`.
        public var scheme: String?
        public var host: String?
        public var path: String
        public var capabilities: RegistryHost.Capabilities
        public var headers: HTTPHeaders
        public var tls: RegistryHost.TLS
        public var dialTimeout: Duration?
    }

    /// The `[host."…"]` entries in file order, then the `server` entry.
    public var entries: [Entry]

    /// Reads `bytes`, the contents of `directory/hosts.toml`.
    public init(parsing bytes: [UInt8], directory: String) throws {
        let root = try HostsTOML.parse(bytes)
        var entries: [Entry] = []
        if let hosts = root["host"] {
            guard case .table(let table) = hosts else { throw Problem("'host' must be a table of [host.\"URL\"] entries") }
            for (url, value) in table.entries {
                guard case .table(let settings) = value else { throw Problem("host \"\(url)\" must be a table") }
                entries.append(try Self.entry(url: url, settings, directory: directory))
            }
        }
        let server = try root["server"].map { try Self.string($0, "server") }
        entries.append(try Self.entry(url: server, root, directory: directory, isServer: true))
        self.entries = entries
    }

    /// A hosts directory without a hosts.toml: Docker's certificate layout (`*.crt` CAs, `*.cert` +
    /// `*.key` client pairs) for the registry itself, as containerd falls back to.
    public init(certificateFiles names: [String], directory: String) {
        var tls = RegistryHost.TLS()
        for name in names.sorted() {
            if name.hasSuffix(".crt") { tls.caFiles.append(directory + "/" + name) }
            if name.hasSuffix(".cert") {
                let key = String(name.dropLast(5)) + ".key"
                tls.clientPairs.append(.init(certificate: directory + "/" + name, key: names.contains(key) ? directory + "/" + key : ""))
            }
        }
        entries = [Entry(scheme: nil, host: nil, path: "/v2", capabilities: .all, headers: HTTPHeaders(), tls: tls, dialTimeout: nil)]
    }

    /// A refusal, turned into one line naming the file by `RegistryHosts`.
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: one entry

    static func entry(url: String?, _ table: HostsTOML.Table, directory: String, isServer: Bool = false) throws -> Entry {
        let name = isServer ? "server" : "host \"\(PrintableLine.escaping(url ?? ""))\""
        let overridePath = try table["override_path"].map { try bool($0, "\(name): override_path") } ?? false
        var entry = Entry(scheme: nil, host: nil, path: overridePath ? "" : "/v2", capabilities: .all, headers: HTTPHeaders(),
                          tls: RegistryHost.TLS(), dialTimeout: nil)
        if let url {
            (entry.scheme, entry.host, entry.path) = try parseURL(url, overridePath: overridePath, name: name)
        }
        if let value = table["capabilities"] {
            let names = try strings(value, "\(name): capabilities")
            if !names.isEmpty {
                entry.capabilities = []
                for capability in names {
                    switch capability.lowercased() {
                    case "pull": entry.capabilities.insert(.pull)
                    case "resolve": entry.capabilities.insert(.resolve)
                    case "push": entry.capabilities.insert(.push)
                    case "referrers": entry.capabilities.insert(.referrers)
                    default: throw Problem("\(name): unknown capability '\(PrintableLine.escaping(capability))'")
                    }
                }
            }
        }
        if let value = table["ca"] {
            entry.tls.caFiles = try stringOrStrings(value, "\(name): ca").map { absolute($0, directory) }
        }
        if let value = table["client"] {
            entry.tls.clientPairs = try clientPairs(value, name: name).map {
                .init(certificate: absolute($0.certificate, directory), key: $0.key.isEmpty ? "" : absolute($0.key, directory))
            }
        }
        if let value = table["skip_verify"] { entry.tls.skipVerify = try bool(value, "\(name): skip_verify") }
        if let value = table["header"] {
            guard case .table(let fields) = value else { throw Problem("\(name): header must be a table") }
            for (field, value) in fields.entries {
                guard isToken(field) else { throw Problem("\(name): header name '\(PrintableLine.escaping(field))' is not an HTTP token") }
                for line in try stringOrStrings(value, "\(name): header \(field)") {
                    guard line.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }) else {
                        throw Problem("\(name): header \(field) has a control character (line break) in its value")
                    }
                    entry.headers.add(field, line)
                }
            }
        }
        if let value = table["dial_timeout"] {
            let text = try string(value, "\(name): dial_timeout")
            if !text.isEmpty {
                guard let duration = DurationText.parse(text), duration > .zero else {
                    throw Problem("\(name): dial_timeout '\(PrintableLine.escaping(text))' is not a positive duration such as \"200ms\" or \"1s\"")
                }
                entry.dialTimeout = duration
            }
        }
        return entry
    }

    /// As containerd: no `http` prefix means `https://`; the path is cleaned, and `/v2` appended
    /// unless it ends so already or `override_path` is set. Only http and https, no user-info, query
    /// or fragment, no `..` in the path.
    static func parseURL(_ text: String, overridePath: Bool, name: String) throws -> (String, String, String) {
        let full = text.hasPrefix("http") ? text : "https://" + text
        guard let separator = full.firstRange(of: "://") else { throw Problem("\(name): not a URL") }
        let scheme = full[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw Problem("\(name): scheme must be http or https") }
        let rest = full[separator.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        let host = authority.lowercased()
        // A name or [IPv6], then at most one :port of 1 to 65535.
        let bracketEnd = host.hasPrefix("[") ? host.firstIndex(of: "]") : nil
        let portStart = host.lastIndex(of: ":").flatMap { colon in bracketEnd.map { colon > $0 ? colon : nil } ?? colon }
        let hostName = portStart.map { host[..<$0] } ?? host[...]
        let port = portStart.map { host[host.index(after: $0)...] }
        let nameOK = !hostName.isEmpty && (bracketEnd != nil ? hostName.last == "]"
                                                              : !hostName.contains(":") && !hostName.contains("[") && !hostName.contains("]"))
        let portOK = port.map { !$0.isEmpty && $0.count <= 5 && $0.allSatisfy(\.isASCII) && (Int($0).map { (1...65535).contains($0) } ?? false) } ?? true
        let hostOK = nameOK && portOK && host.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-:[]".unicodeScalars.contains($0))
        }
        guard hostOK else { throw Problem("\(name): host '\(PrintableLine.escaping(String(authority)))' is not host[:port]") }
        let rawPath = rest.dropFirst(authority.count)
        guard !rawPath.contains("?"), !rawPath.contains("#") else { throw Problem("\(name): a query or fragment has no place in a host URL") }
        var parts: [Substring] = []
        for part in rawPath.split(separator: "/") where part != "." {
            guard part != "..", part.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw Problem("\(name): path component '\(PrintableLine.escaping(String(part)))' refused")
            }
            parts.append(part)
        }
        var path = parts.isEmpty ? "" : "/" + parts.joined(separator: "/")
        if !overridePath, !path.hasSuffix("/v2") { path += "/v2" }
        return (scheme, host, path)
    }

    // MARK: values

    static func string(_ value: HostsTOML.Value, _ what: String) throws -> String {
        guard case .string(let text) = value else { throw Problem("\(what) must be a string") }
        return text
    }

    static func bool(_ value: HostsTOML.Value, _ what: String) throws -> Bool {
        guard case .bool(let flag) = value else { throw Problem("\(what) must be true or false") }
        return flag
    }

    static func strings(_ value: HostsTOML.Value, _ what: String) throws -> [String] {
        guard case .array(let items) = value else { throw Problem("\(what) must be an array of strings") }
        return try items.map { try string($0, what) }
    }

    static func stringOrStrings(_ value: HostsTOML.Value, _ what: String) throws -> [String] {
        if case .string(let one) = value { return [one] }
        return try strings(value, what)
    }

    /// `"pem"`, `["pem", …]` or `[["cert", "key"], …]`.
    static func clientPairs(_ value: HostsTOML.Value, name: String) throws -> [RegistryHost.ClientPair] {
        if case .string(let one) = value { return [.init(certificate: one, key: "")] }
        guard case .array(let items) = value else { throw Problem("\(name): client must be a path or an array") }
        return try items.map { item in
            if case .string(let one) = item { return .init(certificate: one, key: "") }
            let pair = try strings(item, "\(name): client")
            guard pair.count == 2 else { throw Problem("\(name): a client pair is [certificate, key]") }
            return .init(certificate: pair[0], key: pair[1])
        }
    }

    static func absolute(_ path: String, _ directory: String) -> String {
        path.hasPrefix("/") ? path : directory + "/" + path
    }

    /// RFC 9110 token characters.
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
