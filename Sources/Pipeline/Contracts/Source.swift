/// One place a package can be fetched from. The scheme picks the fetcher (`file`, `https`, `oci`,
/// or whatever a backend registers), so a new backend needs no change here.
public struct Source: Hashable, Sendable, CustomStringConvertible {
    /// The scheme, lower case: it picks the fetcher.
    public var scheme: String
    /// A path, a URL or an OCI reference: whatever the scheme's fetcher understands.
    public var location: String

    /// A source of `scheme` at `location`.
    public init(scheme: String, location: String) {
        self.scheme = scheme.lowercased()
        self.location = location
    }

    /// A source for an http(s) URL: the scheme is the URL's own.
    public static func url(_ url: String) -> Source {
        let scheme = url.split(separator: ":", maxSplits: 1).first.map(String.init) ?? "https"
        return Source(scheme: scheme, location: url)
    }

    /// The location as it may appear in logs and events: a URL's query (signed URLs carry
    /// secrets there) and any user-info are cut off.
    public var redacted: String { Redaction.url(location) }

    /// Whether `text` is an RFC 3986 scheme (an ASCII letter, then letters, digits, `+`, `-`, `.`).
    public static func isScheme(_ text: String) -> Bool {
        func letter(_ scalar: Unicode.Scalar) -> Bool { ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) }
        guard let first = text.unicodeScalars.first, letter(first) else { return false }
        return text.unicodeScalars.allSatisfy { letter($0) || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) }
    }

    /// `scheme: location`, redacted.
    public var description: String { "\(scheme): \(redacted)" }
}

/// Keeps secrets out of anything printed.
package enum Redaction {
    /// Drops `?query`, `#fragment` and `user:password@` from a URL-like string.
    package static func url(_ text: String) -> String {
        var out = text
        if let cut = out.firstIndex(where: { $0 == "?" || $0 == "#" }) { out = String(out[..<cut]) }
        if let schemeEnd = out.firstRange(of: "://") {
            let rest = out[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                out = String(out[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...])
            }
        }
        return out
    }
}
