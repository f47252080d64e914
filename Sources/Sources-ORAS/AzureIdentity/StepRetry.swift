import Pipeline

/// A small retry budget for one step of a login (the IMDS call, the token exchange), spent inside
/// the caller's deadline: a wait that would end past the deadline is not started.
struct StepRetry: Sendable {
    var policy: RetryPolicy
    var clock: any RetryClock = SystemRetryClock()
    /// The least time a try must have before the deadline to be started.
    static let lastTryMargin = Duration.milliseconds(250)

    /// How a step ended when it did not succeed.
    struct Exhausted: Error {
        /// The last try's failure.
        var last: PkgfetchError
        var tries: Int
        /// Stopped because the deadline left no room for another try.
        var deadlineReached: Bool

        /// e.g. `HTTP 503 (5 tries)`, `connection refused (3 tries, stopped at the deadline)`.
        var summary: String {
            var notes: [String] = []
            if tries > 1 { notes.append("\(tries) tries") }
            if deadlineReached { notes.append("stopped at the deadline") }
            return notes.isEmpty ? last.message : "\(last.message) (\(notes.joined(separator: ", ")))"
        }
    }

    /// Runs `operation` (given the try number) until it succeeds, throws a failure that is not
    /// `retryable`, the budget is spent, or the next wait would pass `deadline`. Failures come out as
    /// `Exhausted`; cancellation as it is.
    func run<T: Sendable>(deadline: ContinuousClock.Instant?, _ operation: (Int) async throws -> T) async throws -> T {
        var tries = 0
        while true {
            tries += 1
            let failure: PkgfetchError
            do {
                return try await operation(tries)
            } catch let error as CancellationError {
                throw error
            } catch {
                failure = PkgfetchError.from(error)
            }
            // The same decision, and the same table of what is retryable, as the runner's.
            // A try that could only start in the deadline's last moment is not made: its answer would race
            // the attempt's own deadline, which would then report a timeout instead of this step's failure.
            let decision = policy.decide(attempt: tries, error: failure,
                                         timeLeft: deadline.map { clock.now.duration(to: $0) - Self.lastTryMargin },
                                         unit: clock.randomUnit())
            guard case .wait(let wait) = decision else {
                throw Exhausted(last: failure, tries: tries, deadlineReached: decision == .stop(.deadline))
            }
            try await clock.sleep(until: clock.now + wait)
        }
    }
}

extension ContinuousClock.Instant {
    /// `self + limit`, or `deadline` when that is sooner: one request's time inside a step's deadline.
    static func capped(_ limit: Duration, by deadline: ContinuousClock.Instant?) -> ContinuousClock.Instant {
        let own = ContinuousClock.now + limit
        guard let deadline else { return own }
        return Swift.min(own, deadline)
    }
}
