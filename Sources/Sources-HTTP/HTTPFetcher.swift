import Pipeline

/// Fetches `http`/`https` sources: the CDN path. One GET per stream: from the requested offset (or one segment) with
/// `Range` and `If-Range` (so a file that changed comes back whole), reporting the answer's `ETag`
/// (or `Last-Modified`) as its validator. Resuming, limits, hashing and retries are the runner's.
public struct HTTPFetcher: Fetcher {
    /// The shared libcurl transport.
    public let transport: CurlTransport
    /// A transfer slower than 1 byte/s for this long is cut (and resumed by the runner).
    public var stallTimeout: Duration

    /// A fetcher over `transport`.
    public init(transport: CurlTransport, stallTimeout: Duration = .seconds(30)) {
        self.transport = transport
        self.stallTimeout = stallTimeout
    }

    /// How its failures are numbered and named: the download codes, under the names scripts match
    /// (`http-not-found` 21; `http-download-failed` 20, a refusal included).
    public static let failures = FailureFamily(codes: .download, notFound: "http-not-found", unauthorized: "http-download-failed",
                                               unavailable: "http-download-failed")

    /// A CDN serves byte ranges (`Range: bytes=N-M`); whether this one does, its answer says.
    public var servesRanges: Bool { true }

    public func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        let source = request.source
        let classification = FailureClassification(scheme: source.scheme, family: Self.failures)
        do {
            let get = HTTPRequest(url: source.location, deadline: context.deadline, stallTimeout: stallTimeout)
            return try await HTTPStream.open(get, offset: request.offset, length: request.length, ifRange: request.validator,
                                             transport: transport, classification: classification, what: source.redacted).stream
        } catch {
            throw classification.error(for: error, what: source.redacted)
        }
    }
}
