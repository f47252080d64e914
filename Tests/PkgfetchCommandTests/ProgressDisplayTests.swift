import Foundation
import Pipeline
import PipelineTesting
@testable import PkgfetchCommand
import Testing

/// What a progress display wrote, kept in order.
final class Written: @unchecked Sendable {
    private let lock = NSLock()
    private var chunks: [String] = []
    var text: String { lock.withLock { chunks.joined() } }
    func append(_ chunk: String) { lock.withLock { chunks.append(chunk) } }
    /// Each line as drawn in place: the text after every `\r ESC[K`, up to the next one or a newline.
    var drawn: [String] {
        text.components(separatedBy: "\r\u{1B}[K").dropFirst().map { String($0.prefix { $0 != "\n" }) }.filter { !$0.isEmpty }
    }
}

/// The progress line drawn in place (issue 24, item 3): it fits the terminal, shows the current rate,
/// and is ended before an error is printed under it.
@Suite struct ProgressDisplayTests {
    let clock = VirtualClock()
    let written = Written()

    func display(width: Int) -> ProgressDisplay {
        let written = written, clock = clock
        return ProgressDisplay(style: .terminal, line: StderrLine { written.append($0) }, width: { width }, now: { clock.now })
    }

    func tick(_ duration: Duration) async throws { try await clock.sleep(until: clock.now + duration) }

    @Test func aLineFitsFiftyColumnsAndNeverWraps() async throws {
        let progress = StderrProgress(display: display(width: 50))
        let name = "azure-vnet-cni-linux-amd64-v1.6.20-with-a-very-long-build-suffix.tgz"
        progress.started(Source(scheme: "https", location: "https://example.test/\(name)"), totalBytes: 200 << 20)
        for step in 1...40 {
            try await tick(.milliseconds(250))
            progress.advanced(to: Int64(step) << 22)
        }
        progress.finished()
        let lines = written.drawn
        #expect(lines.count >= 30)
        for line in lines { #expect(ProgressLine.columns(line) <= 49, "\(line) is \(line.count) columns") }
        // The label is shortened, the numbers kept.
        #expect(lines.last?.hasPrefix("azu… 160.0 MiB") == true, "\(lines.last ?? "")")
        #expect(lines.last?.contains("160.0 MiB / 200.0 MiB 80% 16.0 MiB/s ETA 3s") == true, "\(lines.last ?? "")")
        #expect(!written.text.dropLast().contains("\n"), "only the final line ends with a newline")
        #expect(written.text.hasSuffix("\n"))
    }

    @Test func aVeryNarrowTerminalCutsTheNumbersToo() {
        let text = ProgressLine.text(label: "pkg.zip", bytes: 5 << 20, total: 10 << 20, rate: Double(1 << 20), width: 12)
        #expect(ProgressLine.columns(text) <= 11, "\(text)")
        #expect(text.hasPrefix("5.0 MiB"), "\(text)")
    }

    @Test func wideCharactersCountTwoColumns() {
        let text = ProgressLine.text(label: String(repeating: "\u{6F22}", count: 40), bytes: 1 << 20, total: nil, rate: nil, width: 30)
        #expect(ProgressLine.columns(text) <= 29, "\(text)")
        #expect(text.hasSuffix("… 1.0 MiB"), "\(text)")
    }

    @Test func theRateIsTheCurrentOneNotTheAverage() async throws {
        let progress = StderrProgress(display: display(width: 200))
        progress.started(Source(scheme: "https", location: "https://example.test/pkg.zip"), totalBytes: 1 << 30)
        var bytes: Int64 = 0
        // 10 s at 10 MiB/s, then 10 s at 1 MiB/s: the average is 5.5 MiB/s, the current rate 1 MiB/s.
        for _ in 0..<40 { try await tick(.milliseconds(250)); bytes += 10 << 18; progress.advanced(to: bytes) }
        #expect(written.drawn.last?.contains(" 10.0 MiB/s") == true, "\(written.drawn.last ?? "")")
        for _ in 0..<40 { try await tick(.milliseconds(250)); bytes += 1 << 18; progress.advanced(to: bytes) }
        let last = written.drawn.last ?? ""
        #expect(last.contains(" 1.0 MiB/s"), "\(last)")
        // ETA from the current rate: (1024 - 110) MiB at 1 MiB/s.
        #expect(last.contains("ETA 15m14s"), "\(last)")
    }

    @Test func anErrorEndsTheProgressLineFirst() async throws {
        let line = StderrLine { self.written.append($0) }
        let display = ProgressDisplay(style: .terminal, line: line, width: { 50 }, now: { self.clock.now })
        let progress = StderrProgress(display: display)
        progress.started(Source(scheme: "https", location: "https://example.test/pkg.zip"), totalBytes: 100)
        try await tick(.milliseconds(300))
        progress.advanced(to: 40)
        line.print("pkgfetch: error[interrupted]: stopped by SIGINT", keepingProgress: true)
        // The progress line keeps its last state and is ended; the error has a line of its own.
        var tail = written.text.components(separatedBy: "\r\u{1B}[K").last!.components(separatedBy: "\n")
        #expect(tail.count == 3 && tail[0].hasPrefix("pkg.zip 40 B / 100 B 40%") && tail[1] == "pkgfetch: error[interrupted]: stopped by SIGINT"
                && tail[2].isEmpty, "\(written.text.debugDescription)")
        // A retry line clears the progress line instead; the next redraw brings it back.
        try await tick(.milliseconds(300))
        progress.advanced(to: 60)
        line.print("pkgfetch: attempt 1 of 6 failed")
        tail = written.text.components(separatedBy: "\r\u{1B}[K").suffix(2).map { $0 }
        #expect(tail[0].hasPrefix("pkg.zip 60 B / 100 B 60%") && tail[1] == "pkgfetch: attempt 1 of 6 failed\n", "\(written.text.debugDescription)")
    }
}

/// `batch` and `components` on a terminal (issue 24, item 2): one total line, packages done of all,
/// bytes of the total once every size is known, the current rate and an ETA, cut to the width.
@Suite struct BatchProgressTests {
    let clock = VirtualClock()
    let written = Written()

    @Test func theTotalLineCountsPackagesBytesRateAndETA() async throws {
        let written = written, clock = clock
        let display = ProgressDisplay(style: .terminal, line: StderrLine { written.append($0) }, width: { 50 }, now: { clock.now })
        let batch = BatchProgress(count: 3, display: display)
        let reporters = (0..<3).map { batch.reporter(for: $0) }
        reporters[0].started(Source(scheme: "https", location: "https://example.test/a.zip"), totalBytes: 10 << 20)
        reporters[1].started(Source(scheme: "https", location: "https://example.test/b.zip"), totalBytes: nil)
        try await clock.sleep(until: clock.now + .milliseconds(500))
        reporters[0].advanced(to: 4 << 20)
        // One size not known yet: no total, no ETA.
        #expect(written.drawn.last?.hasPrefix("0/3 done 4.0 MiB 8.0 MiB/s") == true, "\(written.drawn)")
        reporters[1].started(Source(scheme: "https", location: "https://example.test/b.zip"), totalBytes: 10 << 20)
        reporters[2].started(Source(scheme: "https", location: "https://example.test/c.zip"), totalBytes: 20 << 20)
        for step in 1...10 {
            try await clock.sleep(until: clock.now + .milliseconds(250))
            reporters[0].advanced(to: (4 << 20) + Int64(step) * (6 << 20) / 10)
        }
        reporters[0].finished()
        batch.ended(0)
        try await clock.sleep(until: clock.now + .milliseconds(250))
        reporters[1].advanced(to: 1 << 20)
        let last = written.drawn.last ?? ""
        #expect(last.hasPrefix("1/3 done 11.0 MiB / 40.0 MiB 27%"), "\(last)")
        #expect(last.contains("/s ETA "), "\(last)")
        for line in written.drawn { #expect(ProgressLine.columns(line) <= 49, "\(line)") }
        batch.finish()
        #expect(written.text.hasSuffix("\n"))
    }
}

/// The rate window on the hot path: called for every chunk, it keeps a bounded number of samples.
@Suite struct RateWindowTests {
    @Test func manyChunksKeepTheRateAndFewSamples() throws {
        var window = RateWindow()
        let start = ContinuousClock.now
        // 10 s of 16 KiB chunks at 1 GiB/s: 655 360 calls.
        var bytes: Int64 = 0
        for step in 1...655_360 {
            bytes += 16 << 10
            window.add(bytes: bytes, at: start + .nanoseconds(Int64(step) * 15_259))
        }
        let rate = try #require(window.perSecond)
        #expect(abs(rate - Double(1 << 30)) / Double(1 << 30) < 0.02, "\(rate)")
        #expect(window.sampleCount <= 52, "\(window.sampleCount)")
    }
}
