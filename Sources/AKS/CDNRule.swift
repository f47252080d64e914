#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// One family of CDN URLs and where its packages live in a bootstrap registry. `path` is a regular
/// expression over the URL's path with named groups (`package`, `version`, `os`, `arch`, `ext`, …);
/// `reference` is a template of those names relative to the registry.
public struct CDNRule: Sendable, Codable, Equatable {
    /// The rule's name, shown by `resolve` as the plan's rule.
    public var name: String
    /// When set, the rule matches this host only; otherwise any host (mirrors and local servers alike).
    public var host: String?
    /// A regular expression over the URL's path, with named groups for the parts.
    public var path: String
    /// e.g. `aks/packages/azure/{package}:{version}`.
    public var reference: String
    /// Fixed parts, for names the URL does not spell (e.g. `"os": "windows"`).
    public var parts: [String: String]?
    /// Rewrites of a part before it is used, e.g. `"version": {"dropSuffix": "-azure\\.[0-9]+"}`.
    public var transforms: [String: PartTransform]?
    /// Where the package is fetched from without a registry, in order: URL templates of any scheme
    /// over the parts and `{url}` (the URL asked for), `{host}`, `{file}` (its file name), e.g.
    /// `["objstore://packages/{package}/{file}", "{url}"]`. Unset: the URL asked for.
    public var sources: [String]?

    /// A rule from its parts.
    public init(name: String, host: String? = nil, path: String, reference: String,
                parts: [String: String]? = nil, transforms: [String: PartTransform]? = nil, sources: [String]? = nil) {
        self.name = name
        self.host = host
        self.path = path
        self.reference = reference
        self.parts = parts
        self.transforms = transforms
        self.sources = sources
    }

    private enum CodingKeys: String, CodingKey { case name, host, path, reference, parts, transforms, sources }

    /// Decodes a rule; `reference` may be left out when `sources` is given (a rule for routing only).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        host = try container.decodeIfPresent(String.self, forKey: .host)
        path = try container.decode(String.self, forKey: .path)
        sources = try container.decodeIfPresent([String].self, forKey: .sources)
        reference = try sources == nil ? container.decode(String.self, forKey: .reference)
            : container.decodeIfPresent(String.self, forKey: .reference) ?? ""
        parts = try container.decodeIfPresent([String: String].self, forKey: .parts)
        transforms = try container.decodeIfPresent([String: PartTransform].self, forKey: .transforms)
    }
}

/// A rewrite of one part of a matched URL.
public struct PartTransform: Sendable, Codable, Equatable {
    /// A regular expression removed from the end of the value, where it matches there.
    public var dropSuffix: String?
    /// A transform that drops a suffix matching `dropSuffix`.
    public init(dropSuffix: String? = nil) { self.dropSuffix = dropSuffix }
}

/// A rule checked and compiled once: its expressions parse and its template names only parts it has.
struct CompiledRule: @unchecked Sendable {
    // Regex is immutable once built; it is only read after init.
    let rule: CDNRule
    let pattern: Regex<AnyRegexOutput>
    let suffixes: [String: Regex<AnyRegexOutput>]
    let groups: Set<String>

    init(_ rule: CDNRule) throws {
        func problem(_ text: String) -> PkgfetchError {
            PkgfetchError(.usage, "rule '\(rule.name)': \(text)")
        }
        guard !rule.name.isEmpty else { throw PkgfetchError(.usage, "a rule has an empty name") }
        do { pattern = try Regex(rule.path) } catch { throw problem("path is not a valid regular expression: \(error)") }
        var suffixes: [String: Regex<AnyRegexOutput>] = [:]
        for (part, transform) in rule.transforms ?? [:] {
            guard let suffix = transform.dropSuffix else { continue }
            do { suffixes[part] = try Regex("(?:\(suffix))$") } catch {
                throw problem("transform of '\(part)' is not a valid regular expression: \(error)")
            }
        }
        self.suffixes = suffixes
        let named = Set(pattern.regexOutput(names: rule.path))
        groups = named.union((rule.parts ?? [:]).keys)
        guard groups.contains("package") else { throw problem("names no 'package' part (a named group or a fixed part)") }
        let placeholders = CompiledRule.placeholders(in: rule.reference)
        if rule.sources == nil || !rule.reference.isEmpty {
            guard !placeholders.isEmpty || rule.reference.contains(":") else {
                throw problem("reference template '\(rule.reference)' has no tag")
            }
        }
        for name in placeholders where !groups.contains(name) {
            throw problem("reference template uses {\(name)} but the path has no group of that name")
        }
        if let sources = rule.sources {
            guard !sources.isEmpty else { throw problem("sources is empty") }
            for template in sources {
                guard template == "{url}" || template.prefixMatch(of: /[A-Za-z][A-Za-z0-9+.-]*:\/\//) != nil else {
                    throw problem("source template '\(template)' is not '{url}' and does not start with a scheme (scheme://…)")
                }
                for name in CompiledRule.placeholders(in: template) where !groups.contains(name) && !CompiledRule.urlParts.contains(name) {
                    throw problem("source template uses {\(name)} but the path has no group of that name")
                }
            }
        }
        self.rule = rule
    }

    /// Names between braces in a template.
    static func placeholders(in template: String) -> [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    /// The parts of a matching URL path, transformed; nil when the path does not match.
    func match(host: String, path: String) -> [String: String]? {
        if let wanted = rule.host, wanted.lowercased() != host.lowercased() { return nil }
        guard let match = try? pattern.wholeMatch(in: path) else { return nil }
        var values = rule.parts ?? [:]
        for name in groups where values[name] == nil {
            if let value = match.output[name]?.substring { values[name] = String(value) }
        }
        for (part, suffix) in suffixes {
            if let value = values[part], let found = try? suffix.firstMatch(in: value) {
                values[part] = String(value[..<found.range.lowerBound])
            }
        }
        return values
    }

    func fill(_ values: [String: String], template: String? = nil) -> String {
        var text = template ?? rule.reference
        for (name, value) in values { text = text.replacing("{\(name)}", with: value) }
        return text
    }

    /// The names every source template may use besides the rule's parts.
    static let urlParts: Set<String> = ["url", "host", "file"]

    /// The rule's sources for a matching URL, in order; nil when the rule lists none.
    func sources(_ parts: [String: String], url: String, host: String, fileName: String) throws -> [Source]? {
        guard let templates = rule.sources else { return nil }
        var values = parts
        values["host"] = host
        values["file"] = fileName
        return templates.map { template in
            // The URL is not a template: filled last, so braces in it stay as they are.
            if template == "{url}" { return Source.url(url) }
            return Source.url(fill(values, template: template).replacing("{url}", with: url))
        }
    }
}

extension Regex where Output == AnyRegexOutput {
    /// Named capture groups, read from the source (AnyRegexOutput exposes names only per match).
    func regexOutput(names source: String) -> [String] {
        var names: [String] = []
        var rest = Substring(source)
        while let range = rest.firstRange(of: "(?<") {
            let after = rest[range.upperBound...]
            if let close = after.firstIndex(of: ">") {
                let name = String(after[..<close])
                if !name.isEmpty, !name.hasPrefix("="), !name.hasPrefix("!") { names.append(name) }
                rest = after[close...]
            } else { break }
        }
        return names
    }
}
