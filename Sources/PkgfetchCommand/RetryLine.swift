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

    /// Prints the line; on a terminal it first clears a progress line being redrawn in place.
    @Sendable static func print(_ notice: RetryNotice) {
        let clear = isatty(STDERR_FILENO) == 1 ? "\r\u{1B}[K" : ""
        StandardStream.error.write(Data((clear + text(notice) + "\n").utf8))
    }
}
