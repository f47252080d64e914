#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

/// Runs the flow: resolve → for each source in order: fetch with retries → verify → then unpack (or
/// keep the file) → install. The first source that succeeds wins; if none does, the last error is thrown.
public struct PipelineRunner: Sendable {
    /// The resolvers, fetchers and unpackers the runner may use.
    public var plugins: PluginRegistry
    /// The resolver that plans each request.
    public var resolverName: String
    /// Attempts, backoff, timeouts and the deadline.
    public var retry: RetryPolicy
    /// Where each step is recorded.
    public var events: EventEmitter
    /// Time as the runner sees it (a virtual clock in tests).
    public var clock: any RetryClock
    /// Told how each source's transfer advances.
    public var progress: any ProgressReporter
    /// Bounds against archive bombs.
    public var unpackLimits: UnpackLimits
    /// Where the runner logs; nowhere unless given one.
    public var logger: Logger
    /// Force what is installed to disk before the run returns: the file (or the unpacked tree) before
    /// the renames that install it, and the directories renamed into after them. Off by default: the
    /// rename alone gives old-or-new to every reader, and ext4 flushes a file renamed over another
    /// before the rename commits (see README). The downloaded archive of an unpacked package is not
    /// synced: it is deleted.
    package var durableInstall = false
    /// The largest file a source may deliver (`--max-size`); nil: no limit.
    public var maxFileSize: Int64?
    /// The connections every package of the run shares (`--connections`); a large source that serves
    /// ranges is fetched over several of them. Nil: one stream per source, no limit.
    package var connections: ConnectionBudget?
    /// Stopped by the program (on a signal) to end runs cleanly: staging removed, no install started.
    package var interruption = Interruption()
    /// Told of each retry before its wait starts (the program shows it on stderr); nil: nobody is told.
    package var onRetry: (@Sendable (RetryNotice) -> Void)?

    /// A runner over `plugins`.
    public init(plugins: PluginRegistry, resolverName: String = "cdn", retry: RetryPolicy = RetryPolicy(),
                events: EventEmitter = EventEmitter(), clock: any RetryClock = SystemRetryClock(),
                progress: any ProgressReporter = SilentProgress(), unpackLimits: UnpackLimits = UnpackLimits(),
                logger: Logger = Logger(label: "pkgfetch", factory: { _ in SwiftLogNoOpLogHandler() })) {
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
        // A file the source names is looked up once its name is known (`listing(for:)`).
        if !plan.fileNamedBySource, let cached = CacheLookup.findCopy(plan.fileName, in: request.cacheDirectories) {
            plan.sources.insert(Source(scheme: "file", location: cached.path), at: 0)
            plan.cachedCopy = cached
        }
        if let digest = request.expectedDigest { plan.expectedDigest = digest }
        return plan
    }

    /// Resolves, fetches, verifies, unpacks and installs one package; throws a `PkgfetchError`.
    public func run(_ request: PackageRequest) async throws -> RunResult {
        let start = clock.now
        let deadline = retry.deadline.map { start + $0 }
        var plan: Plan
        do {
            plan = try await BlockingIO.shared.run { try self.plan(for: request) }
            events.describe(plan)
            events.emit(task: "resolve", since: start, outcome: "ok")
        } catch {
            let failure = PkgfetchError.from(error)
            events.emit(task: "resolve", since: start, outcome: "failed", error: failure)
            throw failure
        }
        guard plan.sources.contains(where: { plugins.handles(scheme: $0.scheme) }) else {
            let schemes = Set(plan.sources.map(\.scheme)).sorted()
            let why = schemes.map(plugins.whyNoFetcher(forScheme:)).joined(separator: "; ")
            throw PkgfetchError(.noSource, "no registered fetcher handles the plan's sources (\(schemes.isEmpty ? "none" : why))")
        }
        if plan.fileNamedBySource {
            let held = try await listing(for: plan, deadline: deadline)
            guard held.files.count == 1 else {
                return try await runSet(held, plan: plan, request: request, start: start, deadline: deadline)
            }
            plan = self.plan(plan, narrowedTo: held.files[0], cacheDirectories: request.cacheDirectories)
        }

        if case .file = request.target, !request.shaping.isNone {
            throw PkgfetchError(.usage, "choosing, stripping and renaming members needs a directory to install into (--dest), not --output")
        }
        // A file installed as it is streams to disk; an archive stays cached for the unpacker to read.
        let unpacks = request.target.unpacks && plan.format != nil
        let sources = plan.sources
        let staging = try await BlockingIO.shared.run {
            try StagingArea(for: request.target, role: unpacks ? .unpacked : .installed, interruption: interruption,
                            resuming: sources)
        }
        // Removed before the run returns, whatever happens.
        let outcome: Result<RunResult, PkgfetchError>
        do {
            outcome = .success(try await fetchAndInstall(plan, request: request, staging: staging, start: start, deadline: deadline))
        } catch {
            outcome = .failure(PkgfetchError.from(error))
        }
        await remove(staging)
        return try outcome.get()
    }

    private func fetchAndInstall(_ plan: Plan, request: PackageRequest, staging: StagingArea, start: ContinuousClock.Instant,
                                 deadline: ContinuousClock.Instant?) async throws -> RunResult {
        let streamed = try await streamedUnpack(plan, target: request.target, shaping: request.shaping, staging: staging)
        // Whatever the run comes to, no unpack is left running or waiting when staging is removed.
        do {
            let fetched = try await fetchFirstAvailable(plan, staging: staging, streamed: streamed, deadline: deadline)
            let result = try await install(fetched, plan: plan, request: request, staging: staging, streamed: streamed, start: start)
            await streamed?.abandon()
            return result
        } catch {
            await streamed?.abandon()
            throw error
        }
    }

    private func install(_ fetched: Fetched, plan: Plan, request: PackageRequest, staging: StagingArea, streamed: StreamedUnpack?,
                         start: ContinuousClock.Instant) async throws -> RunResult {
        let installStart = clock.now
        do {
            let entries = try await install(fetched, plan: plan, target: request.target, shaping: request.shaping, staging: staging,
                                            streamed: streamed)
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
    func remove(_ staging: StagingArea) async {
        do {
            try await BlockingIO.shared.run { try staging.remove() }
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
        var format: ArchiveFormat?
        var digest: SHA256Digest
        var size: Int64
    }

    /// An unpack that runs while the bytes arrive, when the package is unpacked, its format can be read
    /// front to back, and its unpacker can (see `StreamingUnpacker`); nil otherwise.
    private func streamedUnpack(_ plan: Plan, target: InstallTarget, shaping: Shaping, staging: StagingArea) async throws -> StreamedUnpack? {
        guard case .directory(_, _, true) = target, let format = plan.format,
              let unpacker = (try? plugins.unpacker(for: format)) as? any StreamingUnpacker, unpacker.streams(format) else { return nil }
        let tree = try await BlockingIO.shared.run { try staging.directory(named: "tree") }
        return StreamedUnpack(unpacker: unpacker, format: format, limits: unpackLimits, shaping: shaping, tree: tree,
                              emptyTree: { _ = try staging.directory(named: "tree") }, events: events, clock: clock,
                              interruption: interruption)
    }

    /// The first of the plan's sources that delivers, staged as `stagingName-<source index>`.
    func fetchFirstAvailable(_ plan: Plan, staging: StagingArea, streamed: StreamedUnpack?,
                             deadline: ContinuousClock.Instant?, stagingName: String = "source") async throws -> Fetched {
        var lastError: PkgfetchError?
        for (index, source) in plan.sources.enumerated() {
            guard var fetcher = try? plugins.fetcher(forScheme: source.scheme) else {
                events.emit(task: "fetch", source: source, outcome: "skipped")
                continue
            }
            if index == 0, let cached = plan.cachedCopy { fetcher = cachedCopyFetcher(cached, plan: plan) }
            if let deadline, clock.now >= deadline { break }
            if Task.isCancelled { throw PkgfetchError(.cancelled, "cancelled before \(source.redacted) was tried") }
            do {
                logger.info("fetching \(source)")
                return try await fetchWithRetries(source, with: fetcher, plan: plan, staging: staging, streamed: streamed,
                                                  stagingName: "\(stagingName)-\(index)", deadline: deadline)
            } catch {
                let failure = PkgfetchError.from(error)
                if index < plan.sources.count - 1 { logger.warning("\(source) failed, trying the next source: \(failure)") }
                lastError = failure
            }
        }
        throw lastError ?? PkgfetchError(.cancelled, "the overall deadline was reached before any source was tried")
    }

    /// Tries one source until it delivers, `retry` says stop, or the deadline passes. Each attempt runs
    /// under its own deadline, enforced here whatever the fetcher does.
    private func fetchWithRetries(_ source: Source, with fetcher: any Fetcher, plan: Plan, staging: StagingArea, streamed: StreamedUnpack?,
                                  stagingName: String, deadline: ContinuousClock.Instant?) async throws -> Fetched {
        let (file, stagedVersion) = try await BlockingIO.shared.run { try staging.file(named: stagingName, for: source) }
        await streamed?.follow(file, of: source)
        let copy = SourceCopy(source: source, fetcher: fetcher, file: file, sizeLimit: maxFileSize, progress: progress, events: events,
                              connections: connections, stagedVersion: stagedVersion)
        defer { copy.finishProgress() }
        return try await withRetries(task: "fetch", source: source, plan: plan, deadline: deadline, bytesSoFar: { file.byteCount },
                                     expire: { await copy.expire(because: $0) }) { context, attemptStart in
            let delivered = try await copy.attempt(context)
            try ExpectedContent(digest: plan.expectedDigest, size: plan.expectedSize)
                .verify(digest: delivered.digest, size: delivered.size, of: source.redacted)
            events.emit(task: "fetch", source: source, bytes: delivered.size, since: attemptStart, outcome: "ok", attempt: context.attempt,
                        status: delivered.status, servedBy: delivered.servedBy)
            return Fetched(source: source, file: file, format: delivered.format, digest: delivered.digest, size: delivered.size)
        }
    }

    /// Runs `attempt` against `source` until it succeeds, `retry` says stop, or the deadline passes: each
    /// attempt under its own deadline (enforced here whatever the backend does; `expire` is told first),
    /// each failure a `task` event, each retry a line for the caller (`onRetry`), and a failure that was
    /// or could have been retried says how long it was tried. One loop for every step that reaches a source.
    func withRetries<T: Sendable>(task: String, source: Source, plan: Plan, deadline: ContinuousClock.Instant?,
                                  bytesSoFar: @escaping @Sendable () -> Int64? = { nil },
                                  expire: @escaping @Sendable (PkgfetchError) async -> Void = { _ in },
                                  _ attempt: @escaping @Sendable (FetchContext, ContinuousClock.Instant) async throws -> T) async throws -> T {
        let firstAttemptStart = clock.now
        var number = 0
        while true {
            number += 1
            let attemptStart = clock.now
            var attemptDeadline = attemptStart + retry.perAttemptTimeout
            if let deadline { attemptDeadline = min(attemptDeadline, deadline) }
            let context = FetchContext(plan: plan, attempt: number, deadline: attemptDeadline, events: events)
            do {
                try Task.checkCancellation()
                return try await AttemptDeadline.run(
                    within: attemptStart.duration(to: attemptDeadline),
                    timeoutError: timeoutError(source, attempt: number, endsWithRun: attemptDeadline == deadline),
                    expire: expire, { try await attempt(context, attemptStart) })
            } catch {
                let failure = PkgfetchError.from(error).about(scheme: source.scheme)
                let decision = Task.isCancelled ? .stop(.deadline)
                    : retry.decide(attempt: number, error: failure, timeLeft: deadline.map { clock.now.duration(to: $0) },
                                   unit: clock.randomUnit())
                guard case .wait(let wait) = decision else {
                    events.emit(task: task, source: source, bytes: bytesSoFar(), since: attemptStart, outcome: "failed",
                                error: failure, attempt: number, status: failure.status)
                    guard number > 1 || decision == .stop(.attemptsSpent) else { throw failure }
                    var final = failure
                    final.message += " (gave up after \(number) attempt\(number == 1 ? "" : "s") in \(firstAttemptStart.duration(to: clock.now).spoken))"
                    throw final
                }
                events.emit(task: task, source: source, bytes: bytesSoFar(), since: attemptStart, outcome: "retry",
                            error: failure, attempt: number, status: failure.status, retryReason: failure.message)
                logger.info("attempt \(number) of \(source) failed (\(failure.message)); retrying in \(wait.spoken)")
                onRetry?(RetryNotice(source: source, failure: failure, attempt: number, attempts: retry.attempts, wait: wait))
                try await clock.sleep(until: clock.now + wait)
            }
        }
    }

    private func timeoutError(_ source: Source, attempt: Int, endsWithRun: Bool) -> PkgfetchError {
        let what = endsWithRun ? "before the deadline (--deadline)" : "within the attempt's timeout of \(retry.perAttemptTimeout) (--timeout)"
        return PkgfetchError(.timeout, "\(source.redacted): attempt \(attempt) did not finish \(what)", scheme: source.scheme)
    }

    /// Unpacks (or places) the fetched file into a staged tree, then installs it; returns the entry count.
    private func install(_ fetched: Fetched, plan: Plan, target: InstallTarget, shaping: Shaping, staging: StagingArea,
                         streamed: StreamedUnpack?) async throws -> Int? {
        switch target {
        case .file(let path):
            let (durable, interruption) = (durableInstall, interruption)
            try await BlockingIO.shared.run {
                if durable { try fetched.file.sync() }
                try Installer.installFile(fetched.file.path, to: path, durable: durable, interruption: interruption)
            }
            return nil
        case .directory(let path, let mode, let unpack):
            let tree: String
            if let streamed { tree = streamed.tree } else { tree = try await BlockingIO.shared.run { try staging.directory(named: "tree") } }
            var entries = 1
            // Neither the name nor the media type says: the content does (a file that is no archive is placed).
            if unpack, let format = fetched.format ?? plan.format ?? ArchiveFormat.identify(contentOf: fetched.file.path) {
                let unpacker = try plugins.unpacker(for: format)
                var started = clock.now
                do {
                    let limits = unpackLimits
                    let report: UnpackReport
                    switch await streamed?.outcome(for: fetched.file) {
                    case .unpacked(let done, let since)?:
                        (report, started) = (done, since)
                    case .failed(let failure)?:
                        throw failure
                    case .declined?, nil:
                        // The unpacker blocks (it reads and writes files): it runs on the blocking-I/O threads,
                        // as a writer a signal halts and waits for before removing the tree.
                        report = try await interruption.whileWriting {
                            try await BlockingIO.shared.run {
                                try unpacker.unpack(fetched.file.path, format: format, into: tree, limits: limits, shaping: shaping)
                            }
                        }
                    }
                    try fetched.file.confirmUnchanged()
                    events.emit(task: "unpack", source: fetched.source, bytes: report.bytes, since: started, outcome: "ok")
                    entries = report.entries
                } catch {
                    let failure = PkgfetchError.from(error, default: .unpackFailed)
                    events.emit(task: "unpack", source: fetched.source, since: started, outcome: "failed", error: failure)
                    throw failure
                }
            } else {
                let placed = tree.appendingPath(try ShapingPass.name(ofFile: plan.fileName, shapedBy: shaping))
                try await BlockingIO.shared.run { try FileSystem.rename(fetched.file.path, to: placed) }
            }
            let (durable, interruption) = (durableInstall, interruption)
            try await BlockingIO.shared.run {
                try Installer.installTree(tree, into: path, mode: mode, durable: durable, interruption: interruption)
            }
            return entries
        }
    }
}

/// What a successful run did.
public struct RunResult: Sendable {
    /// The plan the run followed.
    public var plan: Plan
    /// The source that delivered.
    public var source: Source
    /// The package file's SHA-256.
    public var digest: SHA256Digest
    /// The package file's size.
    public var bytes: Int64
    /// The absolute path installed.
    public var destination: String
    /// Entries unpacked (nil for a file installed as it is).
    public var unpackedEntries: Int?
    /// How long the run took.
    public var durationMs: Int
    /// The files installed, by name, when the source held several (an OCI artifact of several layers).
    public var files: [String]? = nil
}
