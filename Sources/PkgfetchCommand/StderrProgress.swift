#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// Draws progress on stderr: `.terminal` redraws one line in place, cut to the terminal's width;
/// `.plain` prints a line every few seconds. The rate shown is the current one (`RateWindow`).
final class ProgressDisplay: @unchecked Sendable {
    /// How the line is drawn.
    enum Style: Sendable { case terminal, plain }

    private let style: Style
    private let interval: Duration
    private let line: StderrLine
    private let width: @Sendable () -> Int
    private let now: @Sendable () -> ContinuousClock.Instant
    private let lock = Lock()
    private var rate = RateWindow()
    private var lastDraw: ContinuousClock.Instant?
    private var start: ContinuousClock.Instant?

    /// A display drawing in `style` on `line`, `width()` columns wide, timed by `now()`.
    init(style: Style, line: StderrLine = .shared, width: @escaping @Sendable () -> Int = StderrLine.terminalWidth,
         now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.style = style
        self.line = line
        self.width = width
        self.now = now
        interval = style == .terminal ? .milliseconds(200) : .seconds(5)
    }

    /// Starts over: a new transfer, its rate measured afresh.
    func restart() {
        lock.withLock {
            rate = RateWindow()
            lastDraw = nil
            start = nil
        }
    }

    /// Shows `label` at `bytes` of `total` when it is time (always when `final`); a final terminal line ends with a newline.
    func show(label: String, bytes: Int64, total: Int64?, final: Bool = false) {
        let instant = now()
        let text: String? = lock.withLock {
            rate.add(bytes: bytes, at: instant)
            let start = self.start ?? instant
            self.start = start
            // A terminal shows the line at once; a log waits for the first interval.
            if !final, let lastDraw, instant - lastDraw < interval { return nil }
            if lastDraw == nil, !final, style == .plain { lastDraw = instant; return nil }
            lastDraw = instant
            let columns = style == .terminal ? width() : Int.max / 2
            // The last line of a transfer too short for a window says its average.
            let elapsed = Double((instant - start).milliseconds) / 1000
            let shown = rate.perSecond ?? (final && bytes > 0 ? Double(bytes) / max(elapsed, 0.001) : nil)
            return ProgressLine.text(label: label, bytes: bytes, total: total, rate: shown, width: columns)
        }
        guard let text else { return }
        switch style {
        case .terminal:
            line.redraw(text)
            if final { line.end() }
        case .plain:
            line.print(text)
        }
    }
}

/// The progress of `fetch`: one line for the source being fetched.
final class StderrProgress: ProgressReporter, @unchecked Sendable {
    private let display: ProgressDisplay
    private let lock = Lock()
    private var label = ""
    private var total: Int64?
    private var lastBytes: Int64 = 0

    /// A reporter drawing on `display`.
    init(display: ProgressDisplay) { self.display = display }

    /// Starts a line for `source`.
    func started(_ source: Source, totalBytes: Int64?) {
        lock.withLock {
            label = source.redacted.lastPathComponent
            total = totalBytes
            lastBytes = 0
        }
        display.restart()
        display.show(label: label, bytes: 0, total: totalBytes)
    }

    /// Redraws the line when it is time.
    func advanced(to bytes: Int64) {
        let (label, total) = lock.withLock { lastBytes = bytes; return (self.label, self.total) }
        display.show(label: label, bytes: bytes, total: total)
    }

    /// Draws the last line.
    func finished() {
        let (label, total, bytes) = lock.withLock { (self.label, self.total, lastBytes) }
        display.show(label: label, bytes: bytes, total: total, final: true)
    }
}
