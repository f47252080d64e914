#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Pipeline

/// The line `fetch` prints on stderr before each retry, so that a run waiting on a server that is down
/// is never silent: what failed, which attempt of how many, and when the next one starts.
enum RetryLine {
    static func text(_ notice: RetryNotice) -> String {
        "pkgfetch: attempt \(notice.attempt) of \(notice.attempts) failed: \(notice.failure.description); "
            + "retrying in \(notice.wait.spoken)"
    }

    /// Prints the line; it first clears a progress line being redrawn in place (`StderrLine`).
    @Sendable static func print(_ notice: RetryNotice) {
        StderrLine.shared.print(text(notice))
    }
}
