import Pipeline

/// Fetches `http`/`https` sources: the CDN path. Resumes cut transfers within an attempt and across
/// attempts (the staging file keeps what earlier attempts got).
public struct HTTPFetcher: Fetcher {
    public let download: ResumableDownload

    public init(transport: CurlTransport, stallTimeout: Duration = .seconds(30)) {
        download = ResumableDownload(transport: transport, stallTimeout: stallTimeout)
    }

    public func fetch(_ source: Source, into file: StagingFile, context: FetchContext) async throws -> FetchedContent {
        do {
            try await download.run(url: source.location, into: file, deadline: context.deadline, source: source,
                                   progress: context.progress)
            return FetchedContent()
        } catch {
            throw FailureClassification.http.error(for: error, what: source.redacted)
        }
    }
}
