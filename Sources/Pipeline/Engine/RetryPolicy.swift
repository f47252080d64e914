/// How often and how patiently one source is tried: exponential backoff with jitter up to a cap,
/// a timeout for each attempt, and a deadline for the whole run.
public struct RetryPolicy: Sendable, Equatable {
    /// Tries per source, the first included (`--retries N` gives N + 1).
    public var attempts: Int
    /// The first backoff delay.
    public var initialDelay: Duration
    /// What each delay is multiplied by for the next.
    public var multiplier: Double
    /// The longest delay, and the cap on a server's `Retry-After` (before its jitter).
    public var maxDelay: Duration
    /// Fraction of each delay that is randomised: 0.5 waits between 50% and 100% of the backoff.
    public var jitter: Double
    /// How long one attempt may take.
    public var perAttemptTimeout: Duration
    /// How long the whole run may take, retries included.
    public var deadline: Duration?

    /// A policy; the defaults suit a node's bootstrap.
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
    /// `maxDelay`, so a server cannot park a node for hours) plus up to `jitter` of it again, else the
    /// backoff. `Retry-After` is the earliest a server wants a client back; a fleet that all waits
    /// exactly that long returns in one synchronized wave (the load test showed every retry of 50
    /// nodes inside 0.1 s), so each node adds its own share on top.
    public func wait(afterFailedAttempts failed: Int, retryAfter: Duration?, unit: Double) -> Duration {
        guard let retryAfter else { return delay(afterFailedAttempts: failed, unit: unit) }
        let earliest = min(retryAfter, maxDelay)
        return earliest + earliest * (jitter * unit)
    }

    /// The one table of what is worth another try: a source that may recover, an attempt that ran
    /// out of its own time. Everything else (not found, refused, wrong bytes, …) fails the same way again.
    public static let retryableReasons: Set<FailureReason> = [.unavailable, .timeout]

    /// Whether a failure for `reason` is worth another try.
    public static func retries(_ reason: FailureReason) -> Bool { retryableReasons.contains(reason) }

    /// What to do after attempt `attempt` (1 for the first) failed with `error`: wait and try again,
    /// or stop, and why. `timeLeft` is what remains of the deadline the caller works under (nil: none);
    /// a wait that would not end before it is not started. `unit` in [0, 1) places the jitter.
    public func decide(attempt: Int, error: PkgfetchError, timeLeft: Duration? = nil,
                       unit: Double = Double.random(in: 0..<1)) -> RetryDecision {
        guard error.retryable else { return .stop(.notRetryable) }
        guard attempt < attempts else { return .stop(.attemptsSpent) }
        let wait = wait(afterFailedAttempts: attempt, retryAfter: error.retryAfter, unit: unit)
        if let timeLeft, wait >= timeLeft { return .stop(.deadline) }
        return .wait(wait)
    }
}

/// What `RetryPolicy.decide` says after a failed attempt.
public enum RetryDecision: Sendable, Equatable {
    /// Try again after this long.
    case wait(Duration)
    /// Give up, for this reason.
    case stop(Stop)

    /// Why no further attempt is made.
    public enum Stop: Sendable, Equatable {
        /// The failure would happen again.
        case notRetryable
        /// Every attempt the policy allows was made.
        case attemptsSpent
        /// The next attempt could not start before the deadline.
        case deadline
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
    /// The current instant.
    var now: ContinuousClock.Instant { get }
    /// Returns at `instant` (or at once when it has passed); throws when cancelled.
    func sleep(until instant: ContinuousClock.Instant) async throws
    /// A number in [0, 1) for jitter.
    func randomUnit() -> Double
}

/// The real clock: real sleeps, random jitter.
public struct SystemRetryClock: RetryClock {
    /// The real clock.
    public init() {}
    /// The current instant.
    public var now: ContinuousClock.Instant { .now }
    /// Sleeps until `instant` (throws when cancelled).
    public func sleep(until instant: ContinuousClock.Instant) async throws {
        try await ContinuousClock().sleep(until: instant, tolerance: nil)
    }
    /// A random number in [0, 1).
    public func randomUnit() -> Double { Double.random(in: 0..<1) }
}
