#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Told how a transfer advances. Called on the hot path, so implementations must be cheap. The runner
/// calls, for each source: `started` once, when its first stream opens; `advanced` as bytes land (the
/// staged count; it goes back only when the staged bytes are dropped); `finished` once, when the
/// source is done, delivered or not.
public protocol ProgressReporter: Sendable {
    /// The source's first stream opened; `totalBytes` is its size when announced.
    func started(_ source: Source, totalBytes: Int64?)
    /// `bytes` are staged so far.
    func advanced(to bytes: Int64)
    /// The source is done.
    func finished()
}

/// A reporter that shows nothing.
public struct SilentProgress: ProgressReporter {
    /// A silent reporter.
    public init() {}
    /// Does nothing.
    public func started(_ source: Source, totalBytes: Int64?) {}
    /// Does nothing.
    public func advanced(to bytes: Int64) {}
    /// Does nothing.
    public func finished() {}
}
