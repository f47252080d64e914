#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A bootstrap registry as the node scripts pass it: `myacr.azurecr.io`, `https://myacr.azurecr.io/`,
/// or with a repository prefix, `myacr.azurecr.io/aks-managed-repository`.
public struct RegistryAddress: Hashable, Sendable, CustomStringConvertible {
    /// `host[:port]`, lower-cased.
    public let host: String
    /// Repository path prefix without slashes at either end; empty when none.
    public let pathPrefix: String
    /// `http` or `https` when the value spelled a scheme out; nil when it did not.
    public let scheme: String?

    /// Parses `host[:port][/prefix]`, with or without `http(s)://`; throws a usage error otherwise.
    public init(parsing raw: String) throws {
        var text = raw.trimmingWhitespace
        var scheme: String?
        if text.lowercased().hasPrefix("https://") {
            text.removeFirst(8)
            scheme = "https"
        } else if text.lowercased().hasPrefix("http://") {
            text.removeFirst(7)
            scheme = "http"
        } else if text.contains("://") {
            throw PkgfetchError(.usage, "--bootstrap-registry '\(raw)': only http:// or https:// may prefix a registry")
        }
        while text.hasSuffix("/") { text.removeLast() }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty else {
            throw PkgfetchError(.usage, "--bootstrap-registry '\(raw)': no registry host")
        }
        let host = first.lowercased()
        let hostOK = host.allSatisfy { $0.isLetter || $0.isNumber || "-.:[]".contains($0) } && host.first != ":"
        guard hostOK, !host.contains("@") else {
            throw PkgfetchError(.usage, "--bootstrap-registry '\(raw)': '\(host)' is not a host[:port]")
        }
        let prefix = parts.dropFirst()
        if prefix.contains(where: \.isEmpty) {
            throw PkgfetchError(.usage, "--bootstrap-registry '\(raw)': empty path component")
        }
        self.host = host
        self.pathPrefix = prefix.joined(separator: "/").lowercased()
        self.scheme = scheme
    }

    /// `host[/prefix]`: what a reference relative to the registry is appended to.
    public var base: String { pathPrefix.isEmpty ? host : "\(host)/\(pathPrefix)" }
    /// `host[:port][/prefix]`.
    public var description: String { base }
}
