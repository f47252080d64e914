/// What a resolver decided: which package this is and the ordered sources to try.
public struct Plan: Sendable {
    /// The name of the resolver rule that produced this plan.
    public var rule: String
    public var package: String
    public var version: String?
    /// The file name the CDN would serve; caches and registry layers are matched against it.
    public var fileName: String
    public var format: ArchiveFormat?
    public var expectedDigest: SHA256Digest?
    public var expectedSize: Int64?
    public var platform: Platform?
    /// The OCI reference the package maps to, when a bootstrap registry is set.
    public var reference: String?
    public var sources: [Source]
    /// A pre-cached copy found for the package, listed first in `sources` as a `file` source.
    public var cachedCopy: CachedCopy?

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
