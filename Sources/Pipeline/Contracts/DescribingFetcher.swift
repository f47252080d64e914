/// A fetcher that can say what a source holds (its digest and size) without fetching the bytes: a
/// registry answers with a manifest. A pre-cached copy is checked against that answer instead of
/// being trusted as it is (`CachedCopyFetcher`).
public protocol DescribingFetcher: Fetcher {
    /// What `source` holds (its digest and size), asked of the server without fetching the bytes.
    func describe(_ source: Source, context: FetchContext) async throws -> ExpectedContent
}
