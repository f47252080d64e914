#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Pipeline

/// The progress of `batch` and `components` on a terminal: one total line (`3/10 done`: packages ended of all,
/// bytes of the total once every package has announced its size, current rate, ETA), drawn as
/// `fetch`'s line is. Each package reports through its own `reporter(for:)`.
final class BatchProgress: @unchecked Sendable {
    private let display: ProgressDisplay
    private let count: Int
    private let lock = Lock()
    private var bytes: [Int64]
    private var totals: [Int64?]
    private var done = 0
    // Kept as packages advance, so a chunk costs no pass over every package.
    private var bytesSum: Int64 = 0
    private var totalsKnown = 0
    private var totalsSum: Int64 = 0

    /// A total line for `count` packages, drawn on `display`.
    init(count: Int, display: ProgressDisplay) {
        self.count = count
        self.display = display
        bytes = Array(repeating: 0, count: count)
        totals = Array(repeating: nil, count: count)
    }

    /// Where `batch`/`components` show it: on a terminal, unless `--quiet` or `--json`; nil otherwise.
    static func onTerminal(count: Int, options: PipelineOptions) -> BatchProgress? {
        guard !options.quiet, !options.json, isatty(STDERR_FILENO) == 1 else { return nil }
        return BatchProgress(count: count, display: ProgressDisplay(style: .terminal))
    }

    /// The reporter package `index` is fetched with.
    func reporter(for index: Int) -> any ProgressReporter { PackageProgress(batch: self, index: index) }

    /// Package `index` ended, delivered or not.
    func ended(_ index: Int) {
        lock.withLock { done += 1 }
        draw(final: false)
    }

    /// Draws the last line (the run is over).
    func finish() { draw(final: true) }

    fileprivate func update(_ index: Int, bytes: Int64? = nil, total: Int64?? = nil) {
        lock.withLock {
            if let bytes {
                bytesSum += bytes - self.bytes[index]
                self.bytes[index] = bytes
            }
            if let total {
                if let old = totals[index] { totalsKnown -= 1; totalsSum -= old }
                if let total { totalsKnown += 1; totalsSum += total }
                totals[index] = total
            }
        }
        draw(final: false)
    }

    private func draw(final: Bool) {
        let (label, sum, total) = lock.withLock { () -> (String, Int64, Int64?) in
            ("\(done)/\(count) done", bytesSum, totalsKnown == count ? totalsSum : nil)
        }
        display.show(label: label, bytes: sum, total: total, final: final)
    }
}

/// One package's reporter in a batch: it tells the batch's total line how the package advances.
private final class PackageProgress: ProgressReporter {
    let batch: BatchProgress
    let index: Int

    init(batch: BatchProgress, index: Int) {
        self.batch = batch
        self.index = index
    }

    func started(_ source: Source, totalBytes: Int64?) { batch.update(index, bytes: 0, total: .some(totalBytes)) }
    func advanced(to bytes: Int64) { batch.update(index, bytes: bytes) }
    func finished() {}
}
