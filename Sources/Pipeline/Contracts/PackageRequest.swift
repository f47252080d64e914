/// What the caller asked for: the package's CDN URL (or OCI reference) and everything configured around it.
public struct PackageRequest: Sendable {
    /// The package's CDN URL, a URL of a scheme a backend fetches, or an OCI reference: as typed,
    /// for the resolver to read.
    public var url: String
    /// The registry to pull from instead of the CDN, when set.
    public var bootstrapRegistry: RegistryAddress?
    /// Directories searched for a pre-cached copy, in order.
    public var cacheDirectories: [String]
    /// The SHA-256 the package must have (`--sha256`).
    public var expectedDigest: SHA256Digest?
    /// The platform to pick from a multi-platform index (`--platform`).
    public var platform: Platform?
    /// With a registry set, also list the CDN URL as a last source.
    public var fallbackToCDN: Bool
    /// Where the package ends up.
    public var target: InstallTarget
    /// What of the package is installed under `target`, and under which names (a directory target only).
    public var shaping: Shaping = .none

    /// A request for `url`, installed as `target`.
    public init(url: String, bootstrapRegistry: RegistryAddress? = nil, cacheDirectories: [String] = [],
                expectedDigest: SHA256Digest? = nil, platform: Platform? = nil, fallbackToCDN: Bool = false,
                target: InstallTarget) {
        self.url = url
        self.bootstrapRegistry = bootstrapRegistry
        self.cacheDirectories = cacheDirectories
        self.expectedDigest = expectedDigest
        self.platform = platform
        self.fallbackToCDN = fallbackToCDN
        self.target = target
    }
}

/// Where the package ends up.
public enum InstallTarget: Sendable, Equatable {
    /// `--output FILE`: the fetched file itself, renamed into place.
    case file(path: String)
    /// `--dest DIR`: unpacked (or, with `unpack: false`, placed under its own name) into DIR.
    case directory(path: String, mode: InstallMode, unpack: Bool)

    /// The file or directory path.
    public var path: String {
        switch self {
        case .file(let path), .directory(let path, _, _): path
        }
    }

    /// True when the fetched file is only an archive to unpack, not the thing installed.
    public var unpacks: Bool {
        if case .directory(_, _, true) = self { return true }
        return false
    }
}

/// How a package's files meet a destination directory that already has content.
public enum InstallMode: String, Sendable, Equatable, CaseIterable {
    /// Each file is renamed over its old version; files the package lacks are kept (like `tar -x`).
    case merge
    /// The whole directory is swapped for the package's content.
    case replace
}
