#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// Resolves a package's CDN URL with a table of rules. With a bootstrap registry, the first matching
/// rule maps the URL to an OCI reference; without one, any http(s) URL is fetched as it is, and a
/// matching rule only adds what it knows (package, version, platform). A URL of another scheme that a
/// backend fetches (`fetchedAsTheyAre`) is planned as it is.
public struct CDNURLResolver: Resolver {
    private let rules: [CompiledRule]
    private let otherSchemes: Set<String>

    /// `extraRules` (a rules file's) go ahead of `builtIns` (the program's own, such as AKS's). Throws a
    /// usage error naming a malformed rule.
    /// With `anyScheme`, a URL of any scheme other than http, https and file is planned as it is
    /// (its fetcher may be a helper executable, found only when the source is tried).
    public init(extraRules: [CDNRule] = [], builtIns: [CDNRule] = [], fetchedAsTheyAre schemes: Set<String> = [],
                anyScheme: Bool = false) throws {
        rules = try (extraRules + builtIns).map(CompiledRule.init)
        otherSchemes = Set(schemes.map { $0.lowercased() }).subtracting(Self.ownSchemes)
        self.anyScheme = anyScheme
    }

    private let anyScheme: Bool
    /// The schemes this resolver plans itself (http, https) or never plans as they are (file).
    private static let ownSchemes: Set<String> = ["http", "https", "file"]

    /// The scheme of `url` when it is planned as it is.
    private func schemeFetchedAsItIs(_ url: String) -> String? {
        guard let scheme = url.split(separator: ":", maxSplits: 1).first?.lowercased(), !Self.ownSchemes.contains(scheme) else { return nil }
        if otherSchemes.contains(scheme) { return scheme }
        return anyScheme && url.dropFirst(scheme.count).hasPrefix("://") && Source.isScheme(scheme) ? scheme : nil
    }

    /// Reads a rules file: a JSON array of rules, or `{"rules": [...]}`.
    public static func loadRules(from path: String) throws -> [CDNRule] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PkgfetchError(.usage, "--rules \(path): cannot read the file")
        }
        return try decodeRules(data, from: path)
    }

    /// A rules file's content; `path` names it in errors.
    public static func decodeRules(_ data: Data, from path: String) throws -> [CDNRule] {
        struct Wrapped: Decodable { var rules: [CDNRule] }
        let decoder = JSONDecoder()
        do {
            let isList = data.first { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) } == UInt8(ascii: "[")
            return isList ? try decoder.decode([CDNRule].self, from: data) : try decoder.decode(Wrapped.self, from: data).rules
        } catch let DecodingError.keyNotFound(key, context) {
            throw PkgfetchError(.usage, "--rules \(path): \(where_(context)) is missing '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw PkgfetchError(.usage, "--rules \(path): \(where_(context)) has the wrong type")
        } catch {
            throw PkgfetchError(.usage, "--rules \(path): not a JSON list of rules")
        }
    }

    private static func where_(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "rule #\($0 + 1)" } ?? $0.stringValue }
        return path.isEmpty ? "the file" : path.joined(separator: ".")
    }

    /// The plan for `request`; throws `resolve-failed` for a URL no rule or scheme covers.
    public func resolve(_ request: PackageRequest) throws -> Plan {
        if let scheme = schemeFetchedAsItIs(request.url) {
            return try planAsItIs(request, scheme: scheme)
        }
        guard let components = URLComponents(string: request.url),
              let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = components.host, !host.isEmpty else {
            throw PkgfetchError(.resolveFailed, "'\(Redaction.url(request.url))' is not an http(s) URL")
        }
        let path = components.percentEncodedPath
        let fileName = PercentEncoding.decoding(path)?.lastPathComponent ?? ""
        guard !fileName.isEmpty else {
            throw PkgfetchError(.resolveFailed, "'\(Redaction.url(request.url))' names no file")
        }
        try Self.checkUsable(fileName, of: request.url)
        let cdn = Source.url(request.url)
        let matched = rules.lazy.compactMap { rule in rule.match(host: host, path: path).map { (rule, $0) } }.first

        guard let (rule, parts) = matched else {
            if request.bootstrapRegistry != nil {
                throw PkgfetchError(.resolveFailed, "no rule maps '\(Redaction.url(request.url))' to a registry reference (add one with --rules)")
            }
            return Plan(rule: "url", package: Self.stem(of: fileName), fileName: fileName,
                        format: ArchiveFormat.infer(fromFileName: fileName), platform: request.platform,
                        sources: [cdn])
        }
        var platform = request.platform
        if platform == nil, let os = parts["os"], let arch = parts["arch"] {
            platform = Platform(os: os, architecture: arch)
        }
        var plan = Plan(rule: rule.rule.name, package: parts["package"] ?? Self.stem(of: fileName),
                        version: parts["version"], fileName: fileName,
                        format: ArchiveFormat.infer(fromFileName: fileName), platform: platform)
        if let registry = request.bootstrapRegistry, !rule.rule.reference.isEmpty {
            let reference = "\(registry.base)/\(rule.fill(parts))"
            plan.reference = reference
            plan.sources = [Source(scheme: "oci", location: reference)]
            if request.fallbackToCDN { plan.sources += try rule.sources(parts, url: request.url, host: host, fileName: fileName) ?? [cdn] }
        } else {
            plan.sources = try rule.sources(parts, url: request.url, host: host, fileName: fileName) ?? [cdn]
        }
        return plan
    }

    /// A URL of a scheme some backend fetches: one source, named by its last path component.
    private func planAsItIs(_ request: PackageRequest, scheme: String) throws -> Plan {
        let path = URLComponents(string: request.url)?.path ?? ""
        let fileName = path.lastPathComponent
        guard !fileName.isEmpty else {
            throw PkgfetchError(.resolveFailed, "'\(Redaction.url(request.url))' names no file")
        }
        try Self.checkUsable(fileName, of: request.url)
        return Plan(rule: "url", package: Self.stem(of: fileName), fileName: fileName, format: ArchiveFormat.infer(fromFileName: fileName),
                    platform: request.platform, sources: [Source(scheme: scheme, location: request.url)])
    }

    /// The name becomes a path component: `.`/`..` would name a directory, and a NUL (`%00`) would
    /// cut the name short where it reaches the system.
    static func checkUsable(_ fileName: String, of url: String) throws {
        guard fileName != ".", fileName != "..", !fileName.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw PkgfetchError(.resolveFailed, "'\(Redaction.url(url))' names no usable file ('\(fileName)')")
        }
    }

    /// A file name without its archive extension.
    static func stem(of fileName: String) -> String {
        for suffix in [".tar.gz", ".tar.xz", ".tar.zst", ".tgz", ".txz", ".tzst", ".tar", ".zip"]
        where fileName.lowercased().hasSuffix(suffix) {
            return String(fileName.dropLast(suffix.count))
        }
        return fileName
    }
}
