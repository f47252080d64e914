import Pipeline

/// Docker Hub's names: the one place that knows its registry is called `docker.io`, its API is served
/// from `registry-1.docker.io`, and its logins are stored under `index.docker.io`.
public enum DockerHub {
    /// The registry's name in references, hosts directories and credentials.
    public static let registry = "docker.io"
    /// The host its registry API answers on.
    public static let apiHost = "registry-1.docker.io"
    /// Other names of docker.io: the legacy one references and Docker's config.json use
    /// (`https://index.docker.io/v1/`), and the API host a request went to.
    static let aliases: Set<String> = ["index.docker.io", apiHost]

    /// `host` (`host[:port]`, lower-cased) with Docker Hub's other names folded into `docker.io`:
    /// credentials stored for docker.io are found whichever of its names a request went to.
    public static func registryName(_ host: String) -> String { aliases.contains(host) ? registry : host }

    /// The host a registry's own API is contacted at.
    public static func apiHost(for registry: String) -> String { registry == Self.registry ? apiHost : registry }
}

/// A reference as a person types it, read as docker, crane and oras read it.
///
/// - `oci://` in front is optional; a value with any other `scheme://` is a URL, not a reference.
/// - The first path component is the registry only when it has a `.` or a `:` (a port) or is
///   `localhost` (docker's rule, github.com/distribution/reference; one that docker takes for a host
///   by its upper case alone is refused: lower-cased it would read as a docker.io repository);
///   otherwise the registry is `docker.io`, and a one-component name there is under `library/`
///   (`alpine:3` is `docker.io/library/alpine:3`). `index.docker.io` is `docker.io`.
/// - A tag or a digest is required (as `oras pull` requires one; no implicit `latest`), and both may
///   be given (`repo:tag@sha256:…`: the digest decides, the tag is a label).
///
/// The required tag is what tells a reference from a mistyped URL or path: `cdn.example.com/a/b.tgz`
/// (no scheme) and `dir/file.tgz` name no tag, so they are refused, with a message that names both
/// readings, instead of being pulled from somewhere.
extension Reference {
    /// The `oci://` prefix a reference may carry.
    public static let scheme = "oci"

    /// Whether `text` is to be read as a reference rather than a URL: it starts with `oci://`, or it has
    /// no `scheme://` at all.
    public static func isTyped(_ text: String) -> Bool {
        text.lowercased().hasPrefix("\(scheme)://") || !text.contains("://")
    }

    /// Reads a reference as typed (see the extension's comment); with `requiringTag` false a repository
    /// alone is enough (`pkgfetch tags`). Throws `resolve-failed` naming the value as typed.
    public init(typed text: String, requiringTag: Bool = true) throws {
        var name = Substring(text)
        if name.lowercased().hasPrefix("\(Self.scheme)://") { name = name.dropFirst(Self.scheme.count + 3) }
        let (domain, remainder) = Self.splitDomain(name)
        // `Registry/x` names a registry by its upper case alone: lower-cased, it would read as docker.io's `registry/x`.
        let lowered = domain.lowercased()
        guard lowered == DockerHub.registry || lowered == "localhost" || lowered.contains(where: { $0 == "." || $0 == ":" }) else {
            throw PkgfetchError(.resolveFailed, "OCI reference '\(PrintableLine.escaping(text))': '\(PrintableLine.escaping(domain))' is no registry host "
                                    + "(one has a '.' or a ':', or is localhost), and repository names are lower-case")
        }
        try self.init(parsing: "\(domain)/\(remainder)", requiringTag: requiringTag, shownAs: text)
    }

    /// docker's `splitDockerDomain`: the registry and the rest, docker.io's short names expanded.
    static func splitDomain(_ name: Substring) -> (domain: String, remainder: Substring) {
        var domain = DockerHub.registry
        var remainder = name
        if let slash = name.firstIndex(of: "/") {
            let first = name[..<slash]
            if first.contains(where: { $0 == "." || $0 == ":" }) || first == "localhost" || first.lowercased() != first {
                domain = String(first)
                remainder = name[name.index(after: slash)...]
            }
        }
        if domain.lowercased() == "index.docker.io" { domain = DockerHub.registry }
        if domain == DockerHub.registry, !remainder.contains("/") { remainder = "library/" + remainder }
        return (domain, remainder)
    }
}
