import Foundation
import Logging

/// Runs the flow: resolve → for each source in order: fetch with retries → verify → then unpack (or
/// keep the file) → install. The first source that succeeds wins; if none does, the last error is thrown.
public struct PipelineRunner: Sendable {
    public var plugins: PluginRegistry
    public var resolverName: String
    public var retry: RetryPolicy
    public var events: EventEmitter
    public var clock: any RetryClock
    public var progress: any ProgressReporter
    public var unpackLimits: UnpackLimits
    public var logger: Logger
    /// Force what is installed to disk before the run returns: the file (or the unpacked tree) before
    /// the renames that install it, and the directories renamed into after them. Off by default: the
    /// rename alone gives old-or-new to every reader, and ext4 flushes a file renamed over another
    /// before the rename commits (see README). The downloaded archive of an unpacked package is not
    /// synced: it is deleted.
    public var durableInstall = false
    /// The largest file a source may deliver (`--max-size`); nil: no limit.
    public var maxFileSize: Int64?

    public init(plugins: PluginRegistry, resolverName: String = "cdn", retry: RetryPolicy = RetryPolicy(),
                events: EventEmitter = EventEmitter(), clock: any RetryClock = SystemRetryClock(),
                progress: any ProgressReporter = SilentProgress(), unpackLimits: UnpackLimits = UnpackLimits(),
                logger: Logger = Logger(label: "pkgfetch")) {
        self.plugins = plugins
        self.resolverName = resolverName
        self.retry = retry
        self.events = events
        self.clock = clock
        self.progress = progress
        self.unpackLimits = unpackLimits
        self.logger = logger
    }

    /// The plan for a request: the resolver's sources, with a cache hit put first.
    public func plan(for request: PackageRequest) throws -> Plan {
        var plan = try plugins.resolver(named: resolverName).resolve(request)
        if let cached = CacheLookup.findCopy(plan.fileName, in: request.cacheDirectories) {
            plan.sources.insert(Source(scheme: "file", location: cached.path), at: 0)
            plan.cachedCopy = cached
        }
        if let digest = request.expectedDigest { plan.expectedDigest = digest }
        return plan
    }

    public func run(_ request: PackageRequest) async throws -> RunResult {
        let start = clock.now
        let deadline = retry.deadline.map { start + $0 }
        let plan: Plan
        do {
            plan = try self.plan(for: request)
            events.describe(plan)
            events.emit(task: "resolve", since: start, outcome: "ok")
        } catch {
            let failure = PkgfetchError.from(error)
            events.emit(task: "resolve", since: start, outcome: "failed", error: failure)
            throw failure
        }
        guard plan.sources.contains(where: { plugins.handles(scheme: $0.scheme) }) else {
            let schemes = Set(plan.sources.map(\.scheme)).sorted().joined(separator: ", ")
            throw PkgfetchError(.noSource, "no registered fetcher handles the plan's sources (\(schemes.isEmpty ? "none" : schemes))")
        }

        // A file installed as it is streams to disk; an archive stays cached for the unpacker to read.
        let unpacks = request.target.unpacks && plan.format != nil
        let staging = try StagingArea(for: request.target, role: unpacks ? .unpacked : .installed)
        defer { remove(staging) }
        let fetched = try await fetchFirstAvailable(plan, staging: staging, deadline: deadline)
        let installStart = clock.now
        do {
            let entries = try await install(fetched, plan: plan, target: request.target, staging: staging)
            events.emit(task: "install", source: fetched.source, bytes: fetched.size, since: installStart, outcome: "ok")
            return RunResult(plan: plan, source: fetched.source, digest: fetched.digest, bytes: fetched.size,
                             destination: FileSystem.absolute(request.target.path), unpackedEntries: entries,
                             durationMs: Int((clock.now - start).milliseconds))
        } catch {
            let failure = PkgfetchError.from(error)
            events.emit(task: "install", source: fetched.source, since: installStart, outcome: "failed", error: failure)
            throw failure
        }
    }

    /// Removes the staging area; what could not be removed is reported (stderr, and a `cleanup` event)
    /// even though the run's outcome stands.
    private func remove(_ staging: StagingArea) {
        do {
            try staging.remove()
        } catch {
            let failure = PkgfetchError.from(error)
            logger.error("\(failure.message)")
            events.emit(task: "cleanup", outcome: "failed", error: failure)
        }
    }

    /// The fetcher for a cache hit: it checks the copy against a registry source's description when
    /// the plan has no digest (see `CachedCopyFetcher`).
    private func cachedCopyFetcher(_ copy: CachedCopy, plan: Plan) -> any Fetcher {
        let describers = plan.sources.dropFirst().compactMap { source in
            ((try? plugins.fetcher(forScheme: source.scheme)) as? any DescribingFetcher).map { (source, $0) }
        }
        return CachedCopyFetcher(copy: copy, describers: describers)
    }

    struct Fetched {
        var source: Source
        var file: StagingFile
        var content: FetchedContent
        var digest: SHA256Digest
        var size: Int64
    }

    private func fetchFirstAvailable(_ plan: Plan, staging: StagingArea, deadline: ContinuousClock.Instant?) async throws -> Fetched {
        var lastError: PkgfetchError?
        for (index, source) in plan.sources.enumerated() {
            guard var fetcher = try? plugins.fetcher(forScheme: source.scheme) else {
                events.emit(task: "fetch", source: source, outcome: "skipped")
                continue
            }
            if index == 0, let cached = plan.cachedCopy { fetcher = cachedCopyFetcher(cached, plan: plan) }
            if let deadline, clock.now >= deadline { break }
            do {
                logger.info("fetching \(source)")
                return try await fetchWithRetries(source, with: fetcher, plan: plan, staging: staging, index: index, deadline: deadline)
            } catch {
                let failure = PkgfetchError.from(error)
                if index < plan.sources.count - 1 { logger.warning("\(source) failed, trying the next source: \(failure)") }
                lastError = failure
            }
        }
        throw lastError ?? PkgfetchError(.networkTimeout, "the overall deadline was reached before any source was tried")
    }

    private func fetchWithRetries(_ source: Source, with fetcher: any Fetcher, plan: Plan, staging: StagingArea,
                                  index: Int, deadline: ContinuousClock.Instant?) async throws -> Fetched {
        let file = try staging.file(named: "source-\(index)")
        file.sizeLimit = maxFileSize
        for attempt in 1...retry.attempts {
            let attemptStart = clock.now
            var attemptDeadline = attemptStart + retry.perAttemptTimeout
            if let deadline { attemptDeadline = min(attemptDeadline, deadline) }
            let context = FetchContext(plan: plan, attempt: attempt, deadline: attemptDeadline, events: events, progress: progress)
            do {
                try Task.checkCancellation()
                let content = try await fetcher.fetch(source, into: file, context: context)
                let (digest, size) = try file.finish()
                try content.expected.verify(digest: digest, size: size, of: source.redacted)
                try ExpectedContent(digest: plan.expectedDigest, size: plan.expectedSize)
                    .verify(digest: digest, size: size, of: source.redacted)
                events.emit(task: "fetch", source: source, bytes: size, since: attemptStart, outcome: "ok", attempt: attempt,
                            status: content.status)
                return Fetched(source: source, file: file, content: content, digest: digest, size: size)
            } catch {
                let failure = PkgfetchError.from(error)
                let wait = retry.wait(afterFailedAttempts: attempt, retryAfter: failure.retryAfter, unit: clock.randomUnit())
                let resumeAt = clock.now + wait
                let fitsDeadline = deadline.map { resumeAt < $0 } ?? true
                guard failure.retryable, attempt < retry.attempts, fitsDeadline else {
                    events.emit(task: "fetch", source: source, bytes: file.byteCount, since: attemptStart, outcome: "failed",
                                error: failure, attempt: attempt, status: failure.status)
                    throw failure
                }
                events.emit(task: "fetch", source: source, bytes: file.byteCount, since: attemptStart, outcome: "retry",
                            error: failure, attempt: attempt, status: failure.status, retryReason: failure.message)
                logger.info("attempt \(attempt) of \(source) failed (\(failure.message)); retrying in \(wait)")
                try await clock.sleep(until: resumeAt)
            }
        }
        throw PkgfetchError(.internal, "retry loop ended without a result (a bug in pkgfetch)")
    }

    /// Unpacks (or places) the fetched file into a staged tree, then installs it; returns the entry count.
    private func install(_ fetched: Fetched, plan: Plan, target: InstallTarget, staging: StagingArea) async throws -> Int? {
        switch target {
        case .file(let path):
            if durableInstall { try fetched.file.sync() }
            try Installer.installFile(fetched.file.path, to: path, durable: durableInstall)
            return nil
        case .directory(let path, let mode, let unpack):
            let tree = try staging.directory(named: "tree")
            var entries = 1
            // Neither the name nor the media type says: the content does (a file that is no archive is placed).
            if unpack, let format = fetched.content.format ?? plan.format ?? ArchiveFormat.identify(contentOf: fetched.file.path) {
                let unpacker = try plugins.unpacker(for: format)
                let started = clock.now
                do {
                    let report = try await unpacker.unpack(fetched.file.path, format: format, into: tree, limits: unpackLimits)
                    try fetched.file.confirmUnchanged()
                    events.emit(task: "unpack", source: fetched.source, bytes: report.bytes, since: started, outcome: "ok")
                    entries = report.entries
                } catch {
                    let failure = PkgfetchError.from(error, default: .unpackFailed)
                    events.emit(task: "unpack", source: fetched.source, since: started, outcome: "failed", error: failure)
                    throw failure
                }
            } else {
                try FileSystem.rename(fetched.file.path, to: (tree as NSString).appendingPathComponent(plan.fileName))
            }
            try Installer.installTree(tree, into: path, mode: mode, durable: durableInstall)
            return entries
        }
    }
}

/// What a successful run did.
public struct RunResult: Sendable {
    public var plan: Plan
    public var source: Source
    public var digest: SHA256Digest
    public var bytes: Int64
    public var destination: String
    public var unpackedEntries: Int?
    public var durationMs: Int
}
