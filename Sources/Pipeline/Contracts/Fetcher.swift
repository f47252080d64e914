/// Opens one source for reading. A fetcher only produces bytes: it answers "give me this source from
/// byte `offset`" with a stream and what the source promises about it (its size, its digest, a
/// validator naming this version of it). The runner does everything that must be right for every
/// backend: staging, resume or start over, size limits, SHA-256, progress, events, retries and the
/// deadline (see <doc:ImplementingAFetcher>).
public protocol Fetcher: Sendable {
    /// Opens `request.source` from `request.offset`. Throw a `PkgfetchError` (its reason decides
    /// whether the runner tries again) when the source cannot be opened.
    func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream

    /// True when the fetcher honours `FetchRequest.length` (a bounded byte range, HTTP `Range:
    /// bytes=N-M`), so the runner may fetch a large source over several connections. Default: false.
    var servesRanges: Bool { get }
}

extension Fetcher {
    /// Fetchers serve whole streams unless they say otherwise.
    public var servesRanges: Bool { false }
}

/// What the runner asks a fetcher for.
public struct FetchRequest: Sendable {
    /// The source to open.
    public var source: Source
    /// The first byte wanted. Above zero only when the runner holds the bytes before it from an earlier
    /// stream of the same version (`validator`); a fetcher that cannot start there starts at 0 and says so.
    public var offset: Int64
    /// The version the bytes before `offset` came from. Serve from `offset` only if the source is still
    /// that version (HTTP: send it as `If-Range`); otherwise serve from 0. The runner checks the
    /// validator of the answer again, so a fetcher that ignores this only costs a second request.
    public var validator: Validator?
    /// How many bytes are wanted from `offset`; nil: to the end. Set only for a fetcher that
    /// `servesRanges`, always with the `validator` of the version the other bytes came from: serve the
    /// range only of that version, and say in `FetchedStream.length` how many bytes the body holds.
    public var length: Int64?

    /// A request for `source` from `offset`, of the version `validator` names.
    public init(source: Source, offset: Int64 = 0, validator: Validator? = nil, length: Int64? = nil) {
        self.source = source
        self.offset = offset
        self.validator = validator
        self.length = length
    }
}

/// One version of a source's content, as the source names it: resuming is only safe onto bytes of the
/// same version.
public enum Validator: Hashable, Sendable, CustomStringConvertible {
    /// An HTTP strong entity tag, quotes included (`"5e1f-61a"`).
    case entityTag(String)
    /// An HTTP `Last-Modified` date, as sent, when it is strong: at least a second older than the
    /// answer's `Date`, with no `ETag` beside it (`Validator.strong`).
    case lastModified(String)
    /// The content's digest (an OCI blob): the strongest validator there is.
    case digest(SHA256Digest)
    /// Anything else that changes whenever the content does (an object version, a generation number).
    case token(String)

    /// The validator as it may be printed.
    public var description: String {
        switch self {
        case .entityTag(let tag): "ETag \(tag)"
        case .lastModified(let date): "Last-Modified \(date)"
        case .digest(let digest): "\(digest)"
        case .token(let token): "version \(token)"
        }
    }
}

/// A source opened for reading: where its bytes start, what it promises, and the bytes.
public struct FetchedStream: Sendable {
    /// Where `body` starts in the content: the request's offset when the fetcher honoured it, else 0.
    public var offset: Int64
    /// The size of the whole content, when the source announces it (a `Content-Length`, a descriptor's
    /// size). The runner refuses more, and a stream that ends short of it was cut.
    public var size: Int64?
    /// The digest the source vouches for (an OCI descriptor's); the runner checks the bytes against it.
    public var digest: SHA256Digest?
    /// The version these bytes are (see `Validator`). Without one the runner never resumes: a cut
    /// stream starts over.
    public var validator: Validator?
    /// Set when the source says how the file is packed (an oras directory layer is a tar.gz).
    public var format: ArchiveFormat?
    /// The protocol status of the answer (HTTP 200/206), for events.
    public var status: Int?
    /// `scheme://host[:port]` that answered, when the source has several (a registry's mirrors), for events.
    public var servedBy: String?
    /// How many bytes `body` holds when the source served a bounded range (HTTP 206 `bytes N-M/T`);
    /// nil: the body runs to the end of the content.
    public var length: Int64?
    /// True when the source says it serves byte ranges of this content (HTTP `Accept-Ranges: bytes`).
    public var acceptsRanges = false
    /// The bytes, from `offset` on.
    public var body: FetchedBody

    /// A stream of `body` starting at `offset` of the content.
    public init(offset: Int64 = 0, size: Int64? = nil, digest: SHA256Digest? = nil, validator: Validator? = nil,
                format: ArchiveFormat? = nil, status: Int? = nil, body: FetchedBody) {
        self.offset = offset
        self.size = size
        self.digest = digest
        self.validator = validator
        self.format = format
        self.status = status
        self.body = body
    }
}

/// Everything a fetcher may use besides the request: the plan, the attempt, its deadline, events.
public struct FetchContext: Sendable {
    /// The plan the source belongs to (its file name, platform, …).
    public var plan: Plan
    /// 1 for the first try of this source.
    public var attempt: Int
    /// When this attempt must have ended: the per-attempt timeout or the overall deadline, whichever
    /// is sooner. The runner enforces it (the attempt is cancelled then); a fetcher passes it on to
    /// what it waits for, so that it stops cleanly.
    public var deadline: ContinuousClock.Instant
    /// Where the fetcher may record steps of its own (a manifest fetched).
    public var events: EventEmitter

    /// A context for one attempt.
    public init(plan: Plan, attempt: Int, deadline: ContinuousClock.Instant, events: EventEmitter) {
        self.plan = plan
        self.attempt = attempt
        self.deadline = deadline
        self.events = events
    }

    /// Time left before the deadline (zero when past it).
    public var remaining: Duration { max(.zero, deadline - .now) }
}
