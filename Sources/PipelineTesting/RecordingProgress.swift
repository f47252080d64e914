#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// A progress reporter that records every call, in order: `started <source> <total>`,
/// `advanced <bytes>`, `finished`.
public final class RecordingProgress: ProgressReporter, @unchecked Sendable {
    private let lock = Lock()
    private var recorded: [String] = []

    /// An empty record.
    public init() {}

    /// The calls so far.
    public var calls: [String] { lock.withLock { recorded } }

    /// Records `started <source> <total>`.
    public func started(_ source: Source, totalBytes: Int64?) {
        lock.withLock { recorded.append("started \(source.redacted) \(totalBytes.map(String.init) ?? "-")") }
    }

    /// Records `advanced <bytes>`.
    public func advanced(to bytes: Int64) {
        lock.withLock { recorded.append("advanced \(bytes)") }
    }

    /// Records `finished`.
    public func finished() {
        lock.withLock { recorded.append("finished") }
    }
}
