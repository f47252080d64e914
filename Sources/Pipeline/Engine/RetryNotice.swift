#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One retry about to happen, as the runner tells its caller (`PipelineRunner.onRetry`): the library
/// draws nothing; the program decides whether and how to show it.
package struct RetryNotice: Sendable {
    /// The source that failed.
    package var source: Source
    /// Why the attempt failed.
    package var failure: PkgfetchError
    /// The attempt that failed, 1 for the first.
    package var attempt: Int
    /// The attempts the policy allows for the source, the first included.
    package var attempts: Int
    /// How long until the next attempt starts.
    package var wait: Duration

    /// A notice from its fields.
    package init(source: Source, failure: PkgfetchError, attempt: Int, attempts: Int, wait: Duration) {
        self.source = source
        self.failure = failure
        self.attempt = attempt
        self.attempts = attempts
        self.wait = wait
    }
}

extension Duration {
    /// For people: rounded to what matters at its size (`250 ms`, `9.8 s`, `42 s`, `2 min 5 s`).
    package var spoken: String {
        let milliseconds = max(0, self.milliseconds)
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        let seconds = Double(milliseconds) / 1000
        if seconds < 10 { return String(fixedPoint: seconds, places: 1) + " s" }
        let whole = Int64(seconds.rounded())
        if whole < 120 { return "\(whole) s" }
        return whole % 60 == 0 ? "\(whole / 60) min" : "\(whole / 60) min \(whole % 60) s"
    }
}
