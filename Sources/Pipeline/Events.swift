import Foundation

/// One step's record: what was tried, from where, how much, how long, and how it ended.
public struct Event: Sendable, Codable, Equatable {
    public var task: String
    public var operationId: String
    /// The package and version the run is about, once its URL is resolved.
    public var package: String?
    public var version: String?
    /// Redacted: no query strings, no user-info.
    public var source: String?
    /// `cache`, `cdn`, `registry` or `mirror`: what kind of place `source` is.
    public var sourceKind: SourceKind?
    public var bytes: Int64?
    public var durationMs: Int?
    /// `ok`, `retry`, `failed` or `skipped`.
    public var outcome: String
    /// The error's kind name where the step failed, and the exit code that kind ends a run with.
    public var error: String?
    public var exitCode: Int32?
    public var attempt: Int?
    public var status: Int?
    public var retryReason: String?

    public init(task: String, operationId: String, package: String? = nil, version: String? = nil, source: String? = nil,
                sourceKind: SourceKind? = nil, bytes: Int64? = nil, durationMs: Int? = nil, outcome: String,
                error: String? = nil, exitCode: Int32? = nil, attempt: Int? = nil, status: Int? = nil, retryReason: String? = nil) {
        self.task = task
        self.operationId = operationId
        self.package = package
        self.version = version
        self.source = source
        self.sourceKind = sourceKind
        self.bytes = bytes
        self.durationMs = durationMs
        self.outcome = outcome
        self.error = error
        self.exitCode = exitCode
        self.attempt = attempt
        self.status = status
        self.retryReason = retryReason
    }
}

/// Receives events. Implementations must be cheap and must not throw: a broken sink never fails a fetch.
public protocol EventSink: Sendable {
    func emit(_ event: Event)
}

/// Binds a sink to one run's operation id and package, so callers only say what happened.
public struct EventEmitter: Sendable {
    public let operationId: String
    public let sink: any EventSink
    /// Shared by copies of this emitter: the fetchers' and the login's copies learn the package too.
    private let subject = EventSubject()

    public init(operationId: String = UUID().uuidString.lowercased(), sink: any EventSink = DiscardingEventSink()) {
        self.operationId = operationId
        self.sink = sink
    }

    /// Names the package (and its registry) in every event from now on, once the URL is resolved.
    public func describe(_ plan: Plan) { subject.set(plan) }

    public func emit(task: String, source: Source? = nil, bytes: Int64? = nil, since start: ContinuousClock.Instant? = nil,
                     outcome: String, error: PkgfetchError? = nil, attempt: Int? = nil, status: Int? = nil,
                     retryReason: String? = nil) {
        let durationMs = start.map { Int(($0.duration(to: .now)).milliseconds) }
        let plan = subject.plan
        sink.emit(Event(task: task, operationId: operationId, package: plan?.package, version: plan?.version,
                        source: source?.redacted, sourceKind: source.flatMap { SourceKind($0, reference: plan?.reference) },
                        bytes: bytes, durationMs: durationMs, outcome: outcome, error: error?.kind.name,
                        exitCode: error?.kind.exitCode, attempt: attempt, status: status, retryReason: retryReason))
    }
}

/// What one run's events are about; set once its URL is resolved, read by every emit.
private final class EventSubject: @unchecked Sendable {
    // Guarded by lock: set from the run, read from fetchers on other tasks.
    private let lock = NSLock()
    private var stored: (package: String, version: String?, reference: String?)?

    func set(_ plan: Plan) { lock.withLock { stored = (plan.package, plan.version, plan.reference) } }
    var plan: (package: String, version: String?, reference: String?)? { lock.withLock { stored } }
}

/// Sends each event to several sinks (`--events` and `--agent-events-dir` together).
public struct EventSinks: EventSink {
    public let sinks: [any EventSink]
    public init(_ sinks: [any EventSink]) { self.sinks = sinks }
    public func emit(_ event: Event) { for sink in sinks { sink.emit(event) } }
}

public struct DiscardingEventSink: EventSink {
    public init() {}
    public func emit(_ event: Event) {}
}

/// Keeps events in memory; for tests and for callers that inspect a run afterwards.
public final class CollectingEventSink: EventSink, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Event] = []
    public init() {}
    public func emit(_ event: Event) { lock.withLock { stored.append(event) } }
    public var events: [Event] { lock.withLock { stored } }
}

/// Writes one JSON object per line to a file (`--events FILE`), appending.
public final class JSONLinesEventSink: EventSink, @unchecked Sendable {
    private let lock = NSLock()
    private let handle: FileHandle
    private let encoder: JSONEncoder

    public init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw PkgfetchError(.usage, "--events \(path): cannot create the file")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw PkgfetchError(.usage, "--events \(path): cannot open the file for writing")
        }
        handle.seekToEndOfFile()
        self.handle = handle
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    public func emit(_ event: Event) {
        guard var line = try? encoder.encode(event) else { return }
        line.append(0x0A)
        lock.withLock { try? handle.write(contentsOf: line) }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
