#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// A resolver that returns one fixed plan, whatever the request.
public struct FixedResolver: Resolver {
    /// The plan returned.
    public var plan: Plan

    /// A resolver returning `plan`.
    public init(plan: Plan) { self.plan = plan }

    /// The fixed plan.
    public func resolve(_ request: PackageRequest) throws -> Plan { plan }
}

/// One source fetched by one fetcher through a real `PipelineRunner` and installed as a file: how a
/// fetcher's tests see what users get (resumes, limits, verification, events, progress).
public struct SingleSourceRun: Sendable {
    /// The fetcher, registered for the source's scheme.
    public var fetcher: any Fetcher
    /// The one source of the plan.
    public var source: Source
    /// The plan's file name (what a registry layer is matched against).
    public var fileName: String
    /// Attempts, delays and timeouts.
    public var retry: RetryPolicy
    /// `--max-size`.
    public var maxSize: Int64?
    /// `--sha256`.
    public var expectedDigest: SHA256Digest?
    /// Where the run's events go.
    public var events: CollectingEventSink
    /// Told how the transfer advances.
    public var progress: any ProgressReporter
    /// `--connections`: nil, one stream per source.
    package var connections: ConnectionBudget?

    /// A run of `source` by `fetcher`, retried quickly (3 attempts, 10 ms apart, 30 s each).
    public init(fetcher: any Fetcher, source: Source, fileName: String = "package.bin",
                retry: RetryPolicy = RetryPolicy(attempts: 3, initialDelay: .milliseconds(10), perAttemptTimeout: .seconds(30)),
                maxSize: Int64? = nil, expectedDigest: SHA256Digest? = nil, events: CollectingEventSink = CollectingEventSink(),
                progress: any ProgressReporter = SilentProgress()) {
        self.fetcher = fetcher
        self.source = source
        self.fileName = fileName
        self.retry = retry
        self.maxSize = maxSize
        self.expectedDigest = expectedDigest
        self.events = events
        self.progress = progress
    }

    /// The runner this run uses.
    public var runner: PipelineRunner {
        var plugins = PluginRegistry()
        plugins.register(resolver: FixedResolver(plan: Plan(rule: "test", package: "package", fileName: fileName, sources: [source])),
                         named: "cdn")
        plugins.register(fetcher: fetcher, forSchemes: source.scheme)
        var runner = PipelineRunner(plugins: plugins, retry: retry, events: EventEmitter(sink: events), progress: progress)
        runner.maxFileSize = maxSize
        runner.connections = connections
        return runner
    }

    /// Fetches the source and installs it at `path` (a file).
    @discardableResult
    public func run(installingTo path: String) async throws -> RunResult {
        try await runner.run(PackageRequest(url: source.location, expectedDigest: expectedDigest, target: .file(path: path)))
    }
}
