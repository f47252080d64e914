/// What a resolver decided: which package this is and the ordered sources to try.
public struct Plan: Sendable {
    /// The name of the resolver rule that produced this plan.
    public var rule: String
    /// The package's name.
    public var package: String
    /// The package's version, when the URL names one.
    public var version: String?
    /// The file name the CDN would serve; caches and registry layers are matched against it.
    public var fileName: String
    /// How the file is packed, from its name.
    public var format: ArchiveFormat?
    /// The SHA-256 the file must have, when known.
    public var expectedDigest: SHA256Digest?
    /// The size the file must have, when known.
    public var expectedSize: Int64?
    /// The platform to pick from a multi-platform index.
    public var platform: Platform?
    /// The OCI reference the package maps to, when a bootstrap registry is set.
    public var reference: String?
    /// The sources to try, in order.
    public var sources: [Source]
    /// A pre-cached copy found for the package, listed first in `sources` as a `file` source.
    package var cachedCopy: CachedCopy?
    /// The source, not the request, names the file (an OCI reference names a repository): `fileName`
    /// stands in until the runner asks the source what it holds (`ListingFetcher`), and the cache is
    /// looked up then, by the name learned.
    public var fileNamedBySource = false

    /// A plan from its parts.
    public init(rule: String, package: String, version: String? = nil, fileName: String,
                format: ArchiveFormat? = nil, expectedDigest: SHA256Digest? = nil, expectedSize: Int64? = nil,
                platform: Platform? = nil, reference: String? = nil, sources: [Source] = []) {
        self.rule = rule
        self.package = package
        self.version = version
        self.fileName = fileName
        self.format = format
        self.expectedDigest = expectedDigest
        self.expectedSize = expectedSize
        self.platform = platform
        self.reference = reference
        self.sources = sources
    }
}
