/// A fetcher whose source may name its file(s) itself rather than the request naming one: an OCI
/// artifact is a set of titled layers (`oras push a b`). For a plan whose `fileNamedBySource` is set,
/// the runner asks it what the source holds before fetching; one file is then fetched as any other
/// (its name finds a cached copy, its digest and size are expected), several are fetched one by one
/// and installed together as one tree.
public protocol ListingFetcher: Fetcher {
    /// The files `source` holds, each as a source of its own, asked of the server without fetching them.
    func list(_ source: Source, context: FetchContext) async throws -> SourceListing
}

/// What a source holds.
public struct SourceListing: Sendable, Equatable {
    /// The files, in the order the source lists them; names are plain file names the fetcher has checked.
    public var files: [ListedFile]
    /// The digest of what lists them (a manifest): reported as the digest of a set of files.
    public var digest: SHA256Digest

    /// A listing of `files`, listed by the content of digest `digest`.
    public init(files: [ListedFile], digest: SHA256Digest) {
        self.files = files
        self.digest = digest
    }
}

/// One file of a source: its name, where exactly to fetch it from, and what it must be.
public struct ListedFile: Sendable, Equatable {
    /// The file's name: what it is installed as, and what a cached copy is found by.
    public var name: String
    /// The source that delivers this file and no other (pinned, so every file comes from one listing).
    public var source: Source
    /// The digest and size the file must have.
    public var expected: ExpectedContent
    /// How the file is packed, when the source says (else its name does).
    public var format: ArchiveFormat?

    /// A file named `name`, delivered by `source`, that must be `expected`.
    public init(name: String, source: Source, expected: ExpectedContent, format: ArchiveFormat? = nil) {
        self.name = name
        self.source = source
        self.expected = expected
        self.format = format
    }
}
