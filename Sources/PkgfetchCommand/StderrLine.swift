#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Pipeline

/// Stderr shared by a progress line redrawn in place and the lines printed under it: whatever prints
/// a line first ends the progress line, so an error or a retry never lands on the same line.
final class StderrLine: @unchecked Sendable {
    /// The process's stderr.
    static let shared = StderrLine { StandardStream.error.write(Data($0.utf8)) }

    private let lock = Lock()
    private let output: @Sendable (String) -> Void
    private var open = false

    /// Stderr written through `output`.
    init(output: @escaping @Sendable (String) -> Void) { self.output = output }

    /// Draws `text` in place of the line being redrawn.
    func redraw(_ text: String) {
        lock.withLock {
            output("\r\u{1B}[K" + text)
            open = true
        }
    }

    /// Ends the line being redrawn (if any) with a newline, keeping what it last said.
    func end() {
        lock.withLock {
            if open { output("\n") }
            open = false
        }
    }

    /// Clears the line being redrawn (if any); the next redraw brings it back.
    func clear() {
        lock.withLock {
            if open { output("\r\u{1B}[K") }
            open = false
        }
    }

    /// Prints `line` on a line of its own: after clearing the progress line, or after ending it when
    /// `keepingProgress` (the last progress stays on screen above an error).
    func print(_ line: String, keepingProgress: Bool = false) {
        lock.withLock {
            if open { output(keepingProgress ? "\n" : "\r\u{1B}[K") }
            open = false
            output(line + "\n")
        }
    }

    /// The terminal's width: stderr's window size, else `COLUMNS`, else 80.
    static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let text = ProcessInfo.processInfo.environment["COLUMNS"], let columns = Int(text), columns > 0, columns < 10_000 {
            return columns
        }
        return 80
    }
}
