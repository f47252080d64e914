#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// The conformance checks against one source of known content (`pkgfetch conformance URL --sha256 HEX`),
/// for a fetcher in any language: what `FetcherConformance` checks, without a way to publish content.
/// The checks that apply follow the declared `capabilities`: resume only when declared, the
/// announcement only when declared, `describe` only for a `DescribingFetcher`; every fetcher is checked
/// for processes left running after an attempt's deadline.
public enum SourceConformance {
    /// One check's outcome: nil `failure` is a pass.
    public struct Outcome: Sendable {
        /// The check's name.
        public var check: String
        /// What went wrong, if it failed.
        public var failure: String?
    }

    /// Runs the checks that apply, in order, each to its end; `missing` is a source of the same scheme
    /// that holds nothing.
    public static func check(_ fetcher: any Fetcher, source: Source, digest: SHA256Digest, missing: Source,
                             capabilities: FetcherCapabilities) async -> [Outcome] {
        guard let work = try? Workspace() else { return [Outcome(check: "workspace", failure: "cannot make a scratch directory")] }
        defer { work.remove() }
        var outcomes: [Outcome] = []
        // The whole read first: the other checks cut the content where its size says.
        var measured = 0
        do {
            let run = SingleSourceRun(fetcher: fetcher, source: source, retry: once(), expectedDigest: digest)
            let result = try await run.run(installingTo: work.path("whole.out"))
            measured = Int(result.bytes)
            outcomes.append(Outcome(check: "whole read"))
        } catch {
            outcomes.append(Outcome(check: "whole read", failure: "\(error)"))
        }
        let size = measured
        let resumes = capabilities.resumesWithValidator
        let checks: [(String, () async throws -> Void)] = [
            capabilities.announcesSize ? ("truthful announcement", {
                let read = try await StreamAnnouncement.read(fetcher, source, installingTo: work.path("announced.out"))
                try FetcherConformance.expect(read.announced != nil, "the stream announced no size, and the fetcher declares it does")
                try FetcherConformance.expect(read.delivered == read.announced, read.mismatch)
            }) : nil,
            resumes ? ("resume at an offset", {
                try FetcherConformance.expect(size >= 3, "the content is \(size) bytes: too small to cut")
                for cut in [size / 3, 2 * size / 3] {
                    let faulty = FaultyFetcher(fetcher) { index, _ in index == 1 ? .cut(after: cut) : nil }
                    try await SingleSourceRun(fetcher: faulty, source: source, expectedDigest: digest).run(installingTo: work.path("resume-\(cut).out"))
                    let opens = faulty.opens
                    try FetcherConformance.expect(opens.count == 2, "expected one reopen after a cut at \(cut), saw \(opens.count) opens")
                    try FetcherConformance.expect(opens[1].request.validator != nil, "the first stream reported no validator: it cannot be resumed")
                    try FetcherConformance.expect(opens[1].answeredFrom == Int64(cut), "asked from byte \(cut), it answered from \(opens[1].answeredFrom.map(String.init) ?? "-")")
                }
            }) : nil,
            capabilities.servesRanges ? ("a byte range", {
                try FetcherConformance.expect(size >= 4, "the content is \(size) bytes: too small for a range")
                let whole = try work.read("whole.out")
                let (start, length) = (size / 4, size / 2)
                let range = try await RangeRead.read(fetcher, source, offset: Int64(start), length: Int64(length))
                try FetcherConformance.expect(range.offset == Int64(start), "asked for bytes from \(start), it answered from \(range.offset)")
                try FetcherConformance.expect(range.bytes == whole.subdata(in: start..<(start + length)),
                                              "asked for \(length) bytes from \(start), it delivered \(range.bytes.count) bytes that differ from the content's")
            }) : nil,
            ("deadline obeyed", {
                let faulty = FaultyFetcher(fetcher) { _, _ in .stall(after: max(size / 4, 1)) }
                let run = SingleSourceRun(fetcher: faulty, source: source, retry: RetryPolicy(attempts: 1, perAttemptTimeout: .seconds(1)))
                let started = ContinuousClock.now
                let failure = try await FetcherConformance.expectFailure { try await run.run(installingTo: work.path("stall.out")) }
                try FetcherConformance.expect(failure.reason == .timeout, "a stalled attempt should end as a timeout (exit 40), not \(failure)")
                try FetcherConformance.expect(started.duration(to: .now) < .seconds(30), "the 1 s attempt took \(started.duration(to: .now))")
                try FetcherConformance.expect(faulty.cancelCount >= 1, "the stalled body was never cancelled")
            }),
            ("nothing left running", {
                try await SharedChecks.nothingLeftRunning(fetcher, source, stallAfter: size / 4, installingTo: work.path("left.out"))
            }),
            fetcher is any DescribingFetcher ? ("describe", {
                try await SharedChecks.describe(fetcher as! any DescribingFetcher, source, digest: digest, size: size, missing: missing)
            }) : nil,
            ("not found", {
                let run = SingleSourceRun(fetcher: fetcher, source: missing, retry: RetryPolicy(attempts: 2, initialDelay: .milliseconds(10), perAttemptTimeout: .seconds(30)))
                let failure = try await FetcherConformance.expectFailure { try await run.run(installingTo: work.path("missing.out")) }
                try FetcherConformance.expect(failure.reason == .notFound, "\(missing.redacted) should fail as not found, not \(failure)")
                try FetcherConformance.expect(run.events.events.filter { $0.task == "fetch" }.count == 1, "a missing source was tried again")
            }),
        ].compactMap { $0 }
        for (name, check) in checks {
            do {
                try await check()
                outcomes.append(Outcome(check: name))
            } catch let failure as ConformanceFailure {
                outcomes.append(Outcome(check: name, failure: failure.message))
            } catch {
                outcomes.append(Outcome(check: name, failure: "\(error)"))
            }
        }
        return outcomes
    }

    private static func once() -> RetryPolicy { RetryPolicy(attempts: 1, perAttemptTimeout: .seconds(60)) }
}
