import Pipeline

/// Fetches `http`/`https` sources: the CDN path. Resumes cut transfers within an attempt and across
/// attempts (the staging file keeps what earlier attempts got).
public struct HTTPFetcher: Fetcher {
    public let download: ResumableDownload

    public init(transport: CurlTransport, stallTimeout: Duration = .seconds(30)) {
        download = ResumableDownload(transport: transport, stallTimeout: stallTimeout)
    }

    public func fetch(_ source: Source, into file: StagingFile, context: FetchContext) async throws -> FetchedContent {
        let events = context.events
        let attempt = context.attempt
        do {
            let head = try await download.run(url: source.location, into: file, deadline: context.deadline, source: source,
                                              progress: context.progress) { resume in
                // A resume inside an attempt is not a retry of the attempt, but it is worth a record.
                events.emit(task: "http-resume", source: source, bytes: resume.from, outcome: "resume",
                            attempt: attempt, status: resume.status, retryReason: resume.reason)
            }
            return FetchedContent(status: head.status)
        } catch {
            throw FailureClassification.http.error(for: error, what: source.redacted)
        }
    }
}
