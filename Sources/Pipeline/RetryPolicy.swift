/// How often and how patiently one source is tried: exponential backoff with jitter up to a cap,
/// a timeout for each attempt, and a deadline for the whole run.
public struct RetryPolicy: Sendable, Equatable {
    /// Tries per source, the first included (`--retries N` gives N + 1).
    public var attempts: Int
    public var initialDelay: Duration
    public var multiplier: Double
    public var maxDelay: Duration
    /// Fraction of each delay that is randomised: 0.5 waits between 50% and 100% of the backoff.
    public var jitter: Double
    public var perAttemptTimeout: Duration
    public var deadline: Duration?

    public init(attempts: Int = 6, initialDelay: Duration = .seconds(10), multiplier: Double = 2,
                maxDelay: Duration = .seconds(120), jitter: Double = 0.5, perAttemptTimeout: Duration = .seconds(300),
                deadline: Duration? = nil) {
        self.attempts = max(1, attempts)
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maxDelay = maxDelay
        self.jitter = min(max(jitter, 0), 1)
        self.perAttemptTimeout = perAttemptTimeout
        self.deadline = deadline
    }

    /// The backoff before attempt `failed + 1`, after `failed` attempts failed. `unit` in [0, 1)
    /// picks where in the jitter band the delay falls (random in use, fixed in tests).
    public func delay(afterFailedAttempts failed: Int, unit: Double) -> Duration {
        let exponent = Double(max(0, failed - 1))
        let raw = initialDelay * Double(pow(multiplier, exponent))
        let capped = min(raw, maxDelay)
        return capped * (1 - jitter * unit)
    }

    /// The wait before the next attempt: a server's `Retry-After` when it sent one (capped at
    /// `maxDelay`, so a server cannot park a node for hours), else the backoff.
    public func wait(afterFailedAttempts failed: Int, retryAfter: Duration?, unit: Double) -> Duration {
        retryAfter.map { min($0, maxDelay) } ?? delay(afterFailedAttempts: failed, unit: unit)
    }
}

private func pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var remaining = Int(exponent)
    while remaining > 0 { result *= base; remaining -= 1 }
    return min(result, 1e9)
}

/// Time as the runner sees it; injectable so tests check schedules without real sleeps.
public protocol RetryClock: Sendable {
    var now: ContinuousClock.Instant { get }
    func sleep(until instant: ContinuousClock.Instant) async throws
    /// A number in [0, 1) for jitter.
    func randomUnit() -> Double
}

public struct SystemRetryClock: RetryClock {
    public init() {}
    public var now: ContinuousClock.Instant { .now }
    public func sleep(until instant: ContinuousClock.Instant) async throws {
        try await ContinuousClock().sleep(until: instant, tolerance: nil)
    }
    public func randomUnit() -> Double { Double.random(in: 0..<1) }
}
