import Foundation

/// One step's record: what was tried, from where, how much, how long, and how it ended.
public struct Event: Sendable, Codable, Equatable {
    /// The step: `resolve`, `fetch`, `resume`, `unpack`, `install`, ….
    public var task: String
    /// The run the step belongs to.
    public var operationId: String
    /// Redacted: no query strings, no user-info.
    public var source: String?
    /// Bytes the step moved.
    public var bytes: Int64?
    /// How long the step took.
    public var durationMs: Int?
    /// `ok`, `retry`, `failed` or `skipped`.
    public var outcome: String
    /// The error's kind name where the step failed.
    public var error: String?
    /// The attempt, 1 for the first.
    public var attempt: Int?
    /// The protocol status behind the outcome (HTTP).
    public var status: Int?
    /// Why the step is tried again.
    public var retryReason: String?

    /// An event from its fields.
    public init(task: String, operationId: String, source: String? = nil, bytes: Int64? = nil, durationMs: Int? = nil,
                outcome: String, error: String? = nil, attempt: Int? = nil, status: Int? = nil, retryReason: String? = nil) {
        self.task = task
        self.operationId = operationId
        self.source = source
        self.bytes = bytes
        self.durationMs = durationMs
        self.outcome = outcome
        self.error = error
        self.attempt = attempt
        self.status = status
        self.retryReason = retryReason
    }
}

/// Receives events. Implementations must be cheap and must not throw: a broken sink never fails a fetch.
public protocol EventSink: Sendable {
    /// Records `event`.
    func emit(_ event: Event)
}

/// Binds a sink to one run's operation id, so callers only say what happened.
public struct EventEmitter: Sendable {
    /// The run's id, on every event.
    public let operationId: String
    /// Where events go.
    public let sink: any EventSink

    /// An emitter for one run (a fresh id by default).
    public init(operationId: String = UUID().uuidString.lowercased(), sink: any EventSink = DiscardingEventSink()) {
        self.operationId = operationId
        self.sink = sink
    }

    /// Records one step; the duration is measured from `start`.
    public func emit(task: String, source: Source? = nil, bytes: Int64? = nil, since start: ContinuousClock.Instant? = nil,
                     outcome: String, error: PkgfetchError? = nil, attempt: Int? = nil, status: Int? = nil,
                     retryReason: String? = nil) {
        let durationMs = start.map { Int(($0.duration(to: .now)).milliseconds) }
        sink.emit(Event(task: task, operationId: operationId, source: source?.redacted, bytes: bytes,
                        durationMs: durationMs, outcome: outcome, error: error?.kind.name, attempt: attempt,
                        status: status, retryReason: retryReason))
    }
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
    private let lock = NSLock()
    private var stored: [Event] = []
    /// An empty record.
    public init() {}
    /// Keeps the event.
    public func emit(_ event: Event) { lock.withLock { stored.append(event) } }
    /// The events so far, in order.
    public var events: [Event] { lock.withLock { stored } }
}

/// Writes one JSON object per line to a file (`--events FILE`), appending.
public final class JSONLinesEventSink: EventSink, @unchecked Sendable {
    private let lock = NSLock()
    private let handle: FileHandle
    private let encoder: JSONEncoder

    /// Appends to `path`, created if missing; throws a usage error when it cannot be written.
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

    /// Writes the event as one line.
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
