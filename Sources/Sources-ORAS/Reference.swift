import Pipeline

/// An OCI reference, `host[:port]/path…/repo[:tag][@sha256:hex]`, checked against the distribution
/// grammar (github.com/distribution/reference) so a bad value fails here, by name, instead of as a
/// puzzling 404 from the registry.
///
/// A malformed reference is a `resolve-failed` error (10): references are produced by resolving a
/// URL with a rule and a `--bootstrap-registry` value, so that is where the mistake lies.
public struct Reference: Hashable, Sendable, CustomStringConvertible {
    /// `host[:port]` as written, lower-cased (`127.0.0.1:5000`, `[::1]:5000`, `myacr.azurecr.io`).
    public let registry: String
    /// The repository inside the registry, prefix included (`aks-managed-repository/aks/packages/…`).
    public let repository: String
    public let tag: String?
    public let digest: SHA256Digest?

    /// Repository names longer than this are refused by registries (the grammar's limit).
    static let maxNameLength = 255

    /// Parses `text`; with `requiringTag` false, a repository alone (`host/repo`) is accepted too.
    public init(parsing text: String, requiringTag: Bool = true) throws {
        try self.init(parsing: text, requiringTag: requiringTag, shownAs: text)
    }

    /// Parses `text`, naming it `shown` in errors (what the user typed, before it was normalised).
    init(parsing text: String, requiringTag: Bool, shownAs shown: String) throws {
        func bad(_ why: String) -> PkgfetchError {
            PkgfetchError(.resolveFailed, "OCI reference '\(PrintableLine.escaping(shown))': \(why)")
        }
        var rest = Substring(text)
        var digest: SHA256Digest?
        if let at = rest.firstIndex(of: "@") {
            digest = try Self.parseDigest(rest[rest.index(after: at)...], bad: bad)
            rest = rest[..<at]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw bad("no repository after the registry host (expected host[:port]/repository[:tag])")
        }
        let host = rest[..<slash]
        var path = rest[rest.index(after: slash)...]
        var tag: String?
        // The tag's colon is the last one after the last slash; a port's colon comes before the first slash.
        if let colon = path.lastIndex(of: ":"), colon > (path.lastIndex(of: "/") ?? path.startIndex) || !path.contains("/") {
            tag = String(path[path.index(after: colon)...])
            path = path[..<colon]
        }
        try Self.checkHost(host, bad: bad)
        guard !path.isEmpty else { throw bad("empty repository") }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            guard !component.isEmpty else { throw bad("empty path component in repository '\(path)'") }
            guard Self.isPathComponent(component) else {
                let hint = component.contains(where: \.isUppercase) ? " (must be lower-case)" : ""
                throw bad("repository component '\(component)' is not [a-z0-9] separated by '.', '_', '__' or '-'\(hint)")
            }
        }
        guard host.count + 1 + path.count <= Self.maxNameLength else {
            throw bad("name longer than \(Self.maxNameLength) characters")
        }
        if let tag {
            guard Self.isTag(tag) else {
                throw bad("tag '\(tag)' is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
            }
        }
        guard !requiringTag || tag != nil || digest != nil else { throw bad("neither a tag nor a digest") }
        registry = host.lowercased()
        repository = String(path)
        self.tag = tag
        self.digest = digest
    }

    public init(registry: String, repository: String, tag: String?, digest: SHA256Digest? = nil) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// What to put after `/manifests/`: the digest when there is one (it pins the content), else the tag.
    public var manifestReference: String { digest?.description ?? tag ?? "latest" }

    /// The same repository at another manifest (a platform's entry of an index).
    public func pinned(to digest: SHA256Digest) -> Reference {
        Reference(registry: registry, repository: repository, tag: tag, digest: digest)
    }

    public var description: String {
        var text = "\(registry)/\(repository)"
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }

    // MARK: grammar

    /// `domain-component ('.' domain-component)* [':' port]`, an IPv4 address, or `[IPv6][:port]`.
    private static func checkHost(_ host: Substring, bad: (String) -> PkgfetchError) throws {
        var name = host
        var port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw bad("registry host '\(host)' has no closing ']'") }
            let inside = host[host.index(after: host.startIndex)..<close]
            guard !inside.isEmpty, inside.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw bad("registry host '\(host)' is not an IPv6 address in brackets")
            }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("registry host '\(host)': junk after ']'") }
                port = after.dropFirst()
            }
            name = ""
        } else if let colon = host.firstIndex(of: ":") {
            name = host[..<colon]
            port = host[host.index(after: colon)...]
        }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(port),
                  (1...65535).contains(value) else {
                throw bad("registry port '\(port)' is not a number from 1 to 65535")
            }
        }
        guard host.hasPrefix("[") || !name.isEmpty else { throw bad("empty registry host") }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) where !host.hasPrefix("[") {
            let ok = !label.isEmpty && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
                && label.first != "-" && label.last != "-"
            guard ok else { throw bad("registry host '\(name)' has an invalid label '\(label)'") }
        }
    }

    /// `[a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*`
    static func isPathComponent(_ text: Substring) -> Bool {
        let chars = Array(text.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
        var index = 0
        func run() -> Bool {
            let start = index
            while index < chars.count, alnum(chars[index]) { index += 1 }
            return index > start
        }
        guard run() else { return false }
        while index < chars.count {
            let c = chars[index]
            if c == UInt8(ascii: ".") {
                index += 1
            } else if c == UInt8(ascii: "_") {
                index += 1
                if index < chars.count, chars[index] == UInt8(ascii: "_") { index += 1 }
            } else if c == UInt8(ascii: "-") {
                while index < chars.count, chars[index] == UInt8(ascii: "-") { index += 1 }
            } else {
                return false
            }
            guard run() else { return false }
        }
        return true
    }

    /// `[\w][\w.-]{0,127}`, `\w` being ASCII letters, digits and `_`.
    static func isTag(_ text: String) -> Bool {
        let chars = Array(text.utf8)
        func word(_ c: UInt8) -> Bool {
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_")
        }
        guard let first = chars.first, word(first), chars.count <= 128 else { return false }
        return chars.dropFirst().allSatisfy { word($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// `algorithm:hex`: the algorithm must follow the grammar and be sha256 (the only one pkgfetch verifies).
    private static func parseDigest(_ text: Substring, bad: (String) -> PkgfetchError) throws -> SHA256Digest {
        guard let colon = text.firstIndex(of: ":") else {
            throw bad("digest '\(text)' is not algorithm:hex")
        }
        let algorithm = text[..<colon]
        let hex = text[text.index(after: colon)...]
        let algorithmOK = !algorithm.isEmpty
            && algorithm.split(separator: "+", omittingEmptySubsequences: false).flatMap { $0.split(separator: ".", omittingEmptySubsequences: false) }
                .flatMap { $0.split(separator: "-", omittingEmptySubsequences: false) }.flatMap { $0.split(separator: "_", omittingEmptySubsequences: false) }
                .allSatisfy { part in
                    guard let first = part.first, first.isASCII, first.isLetter else { return false }
                    return part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
                }
        guard algorithmOK else { throw bad("digest algorithm '\(algorithm)' is malformed") }
        guard algorithm == "sha256" else { throw bad("digest algorithm '\(algorithm)' is not supported (only sha256)") }
        guard hex.count == 64, hex.allSatisfy({ $0.isASCII && ($0.isNumber || ("a"..."f").contains($0)) }),
              let digest = SHA256Digest("sha256:\(hex)") else {
            throw bad("sha256 digest '\(hex)' is not 64 lower-case hex characters")
        }
        return digest
    }
}
