import CSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// Writes each event as one JSON file into the Azure guest agent's events directory, the way the
/// node scripts' `logs_to_events` does (`--agent-events-dir`): the agent forwards every `*.json` file
/// there to the node's telemetry. Fields are the ones the agent requires, all strings: `Timestamp`,
/// `OperationId`, `Version`, `TaskName` (`AKS.CSE.pkgfetch.<step>`), `EventLevel`, `Message` (this
/// event's facts as a JSON object), `EventPid`, `EventTid`.
///
/// A file is written under a dot-name and linked to its final name, so the agent never reads half a
/// file; names are epoch milliseconds, moved on to the next free millisecond when taken (by this run's
/// previous event or by another process). Nothing here fails a fetch: a directory that cannot be
/// written (read-only, full, missing) costs the events, and `warn` hears of it once.
public final class GuestAgentEventSink: EventSink, @unchecked Sendable {
    /// The value the node scripts write; the agent files events under it.
    static let schemaVersion = "1.23"

    private let directory: String
    private let warn: @Sendable (String) -> Void
    // Guarded by lock: the directory handle, the last name used, whether a failure was reported.
    private let lock = Lock()
    private var descriptor: Int32 = -1
    private var lastMillisecond: Int64 = 0
    private var warned = false

    /// Writes into `directory` (made when missing); `warn` hears, once, why an event could not be written.
    public init(directory: String, warn: @escaping @Sendable (String) -> Void = { _ in }) {
        self.directory = directory
        self.warn = warn
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Writes `event` as one file, atomically; a failure is warned about, never thrown.
    public func emit(_ event: Event) {
        let body = Self.record(for: event, at: Date())
        lock.withLock {
            do { try write(body) } catch {
                if !warned {
                    warned = true
                    warn("--agent-events-dir \(directory): \(error); events are not written there")
                }
            }
        }
    }

    /// The file's content: the agent's eight string fields.
    static func record(for event: Event, at now: Date) -> Data {
        let started = now.addingTimeInterval(-Double(event.durationMs ?? 0) / 1000)
        let fields: [String: String] = [
            "Timestamp": timestamp(started),
            "OperationId": event.operationId,
            "Version": schemaVersion,
            "TaskName": "AKS.CSE.pkgfetch." + camelCase(event.task),
            "EventLevel": event.outcome == "failed" ? "Error" : event.outcome == "retry" ? "Warning" : "Informational",
            "Message": message(for: event),
            "EventPid": String(getpid()),
            "EventTid": String(csystem_thread_id()),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var record = try? encoder.encode(fields) else { return Data() }
        record.append(0x0A)
        return record
    }

    /// What the step was about and how it ended, as one JSON object: package, version, source kind and
    /// place, bytes, duration, outcome; on failure the error kind and the exit code.
    static func message(for event: Event) -> String {
        struct Message: Encodable {
            var package: String?, version: String?, sourceKind: String?, source: String?
            var bytes: Int64?, durationMs: Int?, outcome: String, attempt: Int?, status: Int?
            var error: String?, exitCode: Int32?
        }
        let message = Message(package: event.package, version: event.version, sourceKind: event.sourceKind?.rawValue,
                              source: event.source, bytes: event.bytes, durationMs: event.durationMs, outcome: event.outcome,
                              attempt: event.attempt, status: event.status, error: event.error, exitCode: event.exitCode)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(message)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// `2025-01-31 12:34:56.789`, UTC: the scripts' `date +"%F %T.%3N"` (nodes run in UTC).
    static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let fraction = String(milliseconds % 1000)
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))."
            + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// `fetch-package` → `fetchPackage`, as the scripts name their tasks.
    static func camelCase(_ task: String) -> String {
        let words = task.split(separator: "-")
        return (words.first.map(String.init) ?? "") + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    // MARK: Writing (called with the lock held)

    private struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ step: String, _ code: Int32 = errno) { description = "\(step): \(String(cString: strerror(code)))" }
    }

    private func write(_ body: Data) throws {
        let directory = try openDirectory()
        let temporary = ".pkgfetch-\(getpid())-\(UUID().uuidString.prefix(8)).tmp"
        let file = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard file >= 0 else { throw Failure("cannot create a file") }
        defer { unlinkat(directory, temporary, 0) }
        let written = body.withUnsafeBytes { bytes in writeAll(file, bytes) }
        let closed = close(file)
        guard written == 0 else { throw Failure("cannot write", written) }
        guard closed == 0 else { throw Failure("cannot write") }
        try link(temporary, in: directory)
    }

    /// Gives the written file its final name: the first free millisecond from now on. link(2), unlike
    /// rename(2), never replaces a file another writer put there in the same millisecond.
    private func link(_ temporary: String, in directory: Int32) throws {
        var millisecond = max(Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)), lastMillisecond + 1)
        for _ in 0..<1000 {
            if linkat(directory, temporary, directory, "\(millisecond).json", 0) == 0 {
                lastMillisecond = millisecond
                return
            }
            guard errno == EEXIST else { throw Failure("cannot name the file") }
            millisecond += 1
        }
        throw Failure("cannot name the file", EEXIST)
    }

    /// The directory, made if missing (as the scripts' `mkdir -p`), opened once and kept.
    private func openDirectory() throws -> Int32 {
        if descriptor >= 0 { return descriptor }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let opened = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard opened >= 0 else { throw Failure("cannot open the directory") }
        descriptor = opened
        return opened
    }

    /// 0, or the errno of the write that failed.
    private func writeAll(_ file: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let count = Glibc.write(file, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += count
        }
        return 0
    }
}
