#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One step's record: what was tried, from where, how much, how long, and how it ended.
public struct Event: Sendable, Codable, Equatable {
    /// The step: `resolve`, `fetch`, `resume`, `unpack`, `install`, ….
    public var task: String
    /// The run the step belongs to.
    public var operationId: String
    /// The package and version the run is about, once its URL is resolved.
    public var package: String?
    /// The package's version, once resolved.
    public var version: String?
    /// Redacted: no query strings, no user-info.
    public var source: String?
    /// `cache`, `cdn`, `registry` or `mirror`: what kind of place `source` is.
    public var sourceKind: SourceKind?
    /// Bytes the step moved.
    public var bytes: Int64?
    /// How long the step took.
    public var durationMs: Int?
    /// `ok`, `retry`, `failed` or `skipped`.
    public var outcome: String
    /// The error's kind name where the step failed, and the exit code that kind ends a run with.
    public var error: String?
    /// The exit code of the failure's kind.
    public var exitCode: Int32?
    /// The attempt, 1 for the first.
    public var attempt: Int?
    /// The protocol status behind the outcome (HTTP).
    public var status: Int?
    /// Why the step is tried again.
    public var retryReason: String?
    /// `scheme://host[:port]` that served the bytes (a registry's mirror, or the registry), when not the source's own host.
    public var servedBy: String?

    /// An event from its fields.
    public init(task: String, operationId: String, package: String? = nil, version: String? = nil, source: String? = nil,
                sourceKind: SourceKind? = nil, bytes: Int64? = nil, durationMs: Int? = nil, outcome: String,
                error: String? = nil, exitCode: Int32? = nil, attempt: Int? = nil, status: Int? = nil, retryReason: String? = nil,
                servedBy: String? = nil) {
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
        self.servedBy = servedBy
    }
}

/// Receives events. Implementations must be cheap and must not throw: a broken sink never fails a fetch.
public protocol EventSink: Sendable {
    /// Records `event`.
    func emit(_ event: Event)
}

/// Binds a sink to one run's operation id and package, so callers only say what happened.
public struct EventEmitter: Sendable {
    /// The run's id, on every event.
    public let operationId: String
    /// Where events go.
    public let sink: any EventSink
    /// Shared by copies of this emitter: the fetchers' and the login's copies learn the package too.
    private let subject = EventSubject()

    /// An emitter for one run (a fresh id by default).
    public init(operationId: String = UUID().uuidString.lowercased(), sink: any EventSink = DiscardingEventSink()) {
        self.operationId = operationId
        self.sink = sink
    }

    /// Names the package (and its registry) in every event from now on, once the URL is resolved.
    public func describe(_ plan: Plan) { subject.set(plan) }

    /// Records one step; the duration is measured from `start`.
    public func emit(task: String, source: Source? = nil, bytes: Int64? = nil, since start: ContinuousClock.Instant? = nil,
                     outcome: String, error: PkgfetchError? = nil, attempt: Int? = nil, status: Int? = nil,
                     retryReason: String? = nil, servedBy: String? = nil) {
        let durationMs = start.map { Int(($0.duration(to: .now)).milliseconds) }
        let plan = subject.plan
        sink.emit(Event(task: task, operationId: operationId, package: plan?.package, version: plan?.version,
                        source: source?.redacted,
                        sourceKind: source.flatMap { SourceKind($0, reference: plan?.reference, servedBy: servedBy) },
                        bytes: bytes, durationMs: durationMs, outcome: outcome, error: error?.name,
                        exitCode: error?.kind.exitCode, attempt: attempt, status: status, retryReason: retryReason,
                        servedBy: servedBy))
    }
}

/// What one run's events are about; set once its URL is resolved, read by every emit.
private final class EventSubject: @unchecked Sendable {
    // Guarded by lock: set from the run, read from fetchers on other tasks.
    private let lock = Lock()
    private var stored: (package: String, version: String?, reference: String?)?

    func set(_ plan: Plan) { lock.withLock { stored = (plan.package, plan.version, plan.reference) } }
    var plan: (package: String, version: String?, reference: String?)? { lock.withLock { stored } }
}

/// Sends each event to several sinks (`--events` and `--agent-events-dir` together).
package struct EventSinks: EventSink {
    /// The sinks, in order.
    package let sinks: [any EventSink]
    /// Fans out to `sinks`.
    package init(_ sinks: [any EventSink]) { self.sinks = sinks }
    /// Emits to every sink.
    package func emit(_ event: Event) { for sink in sinks { sink.emit(event) } }
}

/// A sink that keeps nothing.
public struct DiscardingEventSink: EventSink {
    /// A sink that keeps nothing.
    public init() {}
    /// Drops the event.
    public func emit(_ event: Event) {}
}

/// Keeps events in memory; for tests and for callers that inspect a run afterwards.
public final class CollectingEventSink: EventSink, @unchecked Sendable {
    private let lock = Lock()
    private var stored: [Event] = []
    /// An empty record.
    public init() {}
    /// Keeps the event.
    public func emit(_ event: Event) { lock.withLock { stored.append(event) } }
    /// The events so far, in order.
    public var events: [Event] { lock.withLock { stored } }
}

/// Writes one JSON object per line to a file (`--events FILE`), appending. The file may be a pipe or a
/// terminal (`--events /dev/stderr`): it is opened with O_APPEND and written, never seeked. Each line
/// carries its `time` (RFC 3339, milliseconds) and the process's `runId`, since runs append to one file.
package final class JSONLinesEventSink: EventSink, @unchecked Sendable {
    private let lock = Lock()
    private let descriptor: Int32
    private let encoder: JSONEncoder
    /// The run every line of this sink belongs to (a batch's packages each have their own operation id).
    public let runId: String
    private let clock: @Sendable () -> String

    /// Appends to `path`, created (0644) if missing; throws a usage error when it cannot be opened.
    /// `clock` gives each line's time.
    package init(path: String, runId: String = UUID().uuidString.lowercased(), clock: @escaping @Sendable () -> String = RFC3339Time.now) throws {
        self.runId = runId
        self.clock = clock
        descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw PkgfetchError(.usage, "--events \(path): cannot open for writing (\(String(cString: strerror(errno))))")
        }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    deinit { close(descriptor) }

    /// Writes the event as one line, in one write where the system allows, so that lines of
    /// concurrent packages do not interleave.
    package func emit(_ event: Event) {
        guard var line = try? encoder.encode(StampedEvent(event: event, time: clock(), runId: runId)) else { return }
        line.append(0x0A)
        lock.withLock {
            line.withUnsafeBytes { bytes in
                var done = 0
                while done < bytes.count {
                    let written = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
                    if written < 0, errno == EINTR { continue }
                    guard written > 0 else { return }   // a closed reader: events are best effort
                    done += written
                }
            }
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// An event as `--events` writes it: its fields, its time and the run's id.
private struct StampedEvent: Encodable {
    let event: Event
    let time: String
    let runId: String

    private enum Keys: String, CodingKey { case time, runId }

    func encode(to encoder: any Encoder) throws {
        try event.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(time, forKey: .time)
        try container.encode(runId, forKey: .runId)
    }
}
