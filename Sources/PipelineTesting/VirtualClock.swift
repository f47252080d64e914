#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// A clock for tests of retry schedules: it records each sleep and moves its time on instead of
/// waiting, and gives a fixed jitter unit.
public final class VirtualClock: RetryClock, @unchecked Sendable {
    private let lock = Lock()
    private var offset: Duration = .zero
    private var recorded: [Duration] = []
    private let origin = ContinuousClock.now
    /// The jitter unit `randomUnit()` returns.
    public let unit: Double

    /// A clock at the real now, with jitter unit `unit`.
    public init(unit: Double = 0) { self.unit = unit }

    /// The clock's time: its start plus every sleep so far.
    public var now: ContinuousClock.Instant { lock.withLock { origin + offset } }
    /// The sleeps asked for, in order.
    public var sleeps: [Duration] { lock.withLock { recorded } }

    /// Records the wait and moves time to `instant`, at once.
    public func sleep(until instant: ContinuousClock.Instant) async throws {
        lock.withLock {
            let wait = instant - (origin + offset)
            recorded.append(wait)
            offset += max(.zero, wait)
        }
    }

    /// The fixed unit.
    public func randomUnit() -> Double { unit }
}
