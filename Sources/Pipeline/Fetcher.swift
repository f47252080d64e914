/// Streams one source into `file` (empty, or holding a previous attempt's bytes it may resume),
/// hashing as bytes arrive; honours `context.deadline`. Throws a `PkgfetchError`, retryable or not.
public protocol Fetcher: Sendable {
    func fetch(_ source: Source, into file: StagingFile, context: FetchContext) async throws -> FetchedContent
}

/// What a fetcher learned about the content beyond its bytes.
public struct FetchedContent: Sendable {
    /// What the source itself promised (an OCI descriptor's digest and size); checked by the runner
    /// together with what the plan expects.
    public var expected: ExpectedContent
    /// Set when the source says how the file is packed (an oras directory layer is a tar.gz).
    public var format: ArchiveFormat?
    /// The protocol status of the answer that delivered the content (HTTP 200/206), for the attempt's event.
    public var status: Int?

    public init(expected: ExpectedContent = .init(), format: ArchiveFormat? = nil, status: Int? = nil) {
        self.expected = expected
        self.format = format
        self.status = status
    }
}

/// Everything a fetcher may use besides the source: the plan, the attempt's deadline, events, progress.
public struct FetchContext: Sendable {
    public var plan: Plan
    /// 1 for the first try of this source.
    public var attempt: Int
    /// When this attempt must have ended: the per-attempt timeout or the overall deadline, whichever is sooner.
    public var deadline: ContinuousClock.Instant
    public var events: EventEmitter
    public var progress: any ProgressReporter

    public init(plan: Plan, attempt: Int, deadline: ContinuousClock.Instant, events: EventEmitter,
                progress: any ProgressReporter = SilentProgress()) {
        self.plan = plan
        self.attempt = attempt
        self.deadline = deadline
        self.events = events
        self.progress = progress
    }

    /// Time left before the deadline (zero when past it).
    public var remaining: Duration { max(.zero, deadline - .now) }
}
