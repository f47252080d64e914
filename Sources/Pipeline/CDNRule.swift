import Foundation

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

    /// A rule from its parts.
    public init(name: String, host: String? = nil, path: String, reference: String,
                parts: [String: String]? = nil, transforms: [String: PartTransform]? = nil) {
        self.name = name
        self.host = host
        self.path = path
        self.reference = reference
        self.parts = parts
        self.transforms = transforms
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
        guard !placeholders.isEmpty || rule.reference.contains(":") else {
            throw problem("reference template '\(rule.reference)' has no tag")
        }
        for name in placeholders where !groups.contains(name) {
            throw problem("reference template uses {\(name)} but the path has no group of that name")
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

    func fill(_ values: [String: String]) -> String {
        var text = rule.reference
        for (name, value) in values { text = text.replacingOccurrences(of: "{\(name)}", with: value) }
        return text
    }
}

extension Regex where Output == AnyRegexOutput {
    /// Named capture groups, read from the source (AnyRegexOutput exposes names only per match).
    func regexOutput(names source: String) -> [String] {
        var names: [String] = []
        var rest = Substring(source)
        while let range = rest.range(of: "(?<") {
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
