/// What a file must be: a digest and/or a size. Verification is this one piece, applied to whatever a
/// fetcher produced, instead of a check repeated in each fetcher.
public struct ExpectedContent: Sendable, Equatable {
    /// The digest the content must have, if known.
    public var digest: SHA256Digest?
    /// The size the content must have, if known.
    public var size: Int64?

    /// Expectations of a digest and/or a size.
    public init(digest: SHA256Digest? = nil, size: Int64? = nil) {
        self.digest = digest
        self.size = size
    }

    /// Throws `integrity-mismatch` unless `actual` matches every expectation that is set.
    public func verify(digest actual: SHA256Digest, size actualSize: Int64, of what: String) throws {
        if let size, size != actualSize {
            throw PkgfetchError(.integrityMismatch, "\(what): expected \(size) bytes, got \(actualSize)")
        }
        if let digest, digest != actual {
            throw PkgfetchError(.integrityMismatch, "\(what): expected \(digest), got \(actual)")
        }
    }

    /// True when the bytes seen so far already exceed the expected size (a fetcher can stop early).
    public func isOversized(_ bytes: Int64) -> Bool {
        if let size { return bytes > size }
        return false
    }
}
