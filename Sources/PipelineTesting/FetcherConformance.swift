import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// What a fetcher's author provides to run `FetcherConformance`: the fetcher, and a way to put content
/// behind its sources (a loopback server, a directory, a bucket).
public protocol FetcherConformanceSubject: Sendable {
    /// The fetcher under test.
    var fetcher: any Fetcher { get }
    /// Makes `content` available and returns the source that names it; `name` is unique within a run.
    func publish(_ content: Data, as name: String) async throws -> Source
    /// Replaces what `source` holds with `content`: a new version of the same source.
    func replace(_ source: Source, with content: Data) async throws
    /// A source of the fetcher's scheme that holds nothing.
    func missing() async throws -> Source
}

/// The checks every fetcher passes, run through a real `PipelineRunner` so that they check what users
/// get: a plain fetch; a stream cut part-way, resumed where it ended; stale bytes of an unknown
/// version, dropped; a source that changes between two streams, never spliced; an attempt that
/// stalls, ended at its deadline and its body released, and nothing it started left running; what
/// `describe` says (a `DescribingFetcher`); the size limit; the order of progress calls; cancellation;
/// and a missing source, failing at once as not found. Faults are injected by wrapping the
/// fetcher, so the backend needs nothing but content. One line in a test:
///
/// ```swift
/// @Test func conforms() async throws { try await FetcherConformance.check(MySubject()) }
/// ```
public enum FetcherConformance {
    /// Runs every check that applies to a fetcher with `capabilities` (its `BackendDescriptor`'s):
    /// the resume checks only when it declares `resumesWithValidator`, the announcement check only
    /// when it declares `announcesSize`, the describe check only for a `DescribingFetcher`. Throws a `ConformanceFailure` naming the first that fails.
    /// Returns the names of the checks run.
    @discardableResult
    public static func check(_ subject: some FetcherConformanceSubject, contentSize: Int = 3 << 20,
                             capabilities: FetcherCapabilities = .all) async throws -> [String] {
        let work = try Workspace()
        defer { work.remove() }
        let resumes = capabilities.resumesWithValidator
        let checks: [(String, () async throws -> Void)] = [
            ("plain fetch", { try await plainFetch(subject, work, contentSize) }),
            capabilities.announcesSize ? ("truthful announcement", { try await truthfulAnnouncement(subject, work, contentSize) }) : nil,
            resumes ? ("cut then resume", { try await cutThenResume(subject, work, contentSize) }) : nil,
            resumes ? ("stale bytes then reset", { try await staleBytes(subject, work, contentSize) }) : nil,
            resumes ? ("source changes between streams", { try await changedSource(subject, work, contentSize) }) : nil,
            ("deadline honoured", { try await deadline(subject, work, contentSize) }),
            ("nothing left running", {
                let source = try await subject.publish(Workspace.content(size: contentSize, seed: 11), as: "left.bin")
                try await SharedChecks.nothingLeftRunning(subject.fetcher, source, stallAfter: contentSize / 4, installingTo: work.path("left.out"))
            }),
            subject.fetcher is any DescribingFetcher ? ("describe", {
                let content = Workspace.content(size: contentSize, seed: 12)
                let source = try await subject.publish(content, as: "described.bin")
                try await SharedChecks.describe(subject.fetcher as! any DescribingFetcher, source, digest: Workspace.digest(content),
                                                size: contentSize, missing: try await subject.missing())
            }) : nil,
            ("size limit", { try await sizeLimit(subject, work, contentSize) }),
            resumes ? ("progress order", { try await progressOrder(subject, work, contentSize) }) : nil,
            ("cancellation", { try await cancellation(subject, work, contentSize) }),
            ("not found", { try await notFound(subject, work) }),
        ].compactMap { $0 }
        for (name, check) in checks {
            do {
                try await check()
            } catch let failure as ConformanceFailure {
                throw ConformanceFailure(check: name, message: failure.message)
            } catch {
                throw ConformanceFailure(check: name, message: "unexpected error: \(error)")
            }
        }
        return checks.map(\.0)
    }

    static func plainFetch(_ subject: some FetcherConformanceSubject, _ work: Workspace, _ size: Int) async throws {
        let content = Workspace.content(size: size, seed: 1)
        let source = try await subject.publish(content, as: "plain.bin")
        let run = SingleSourceRun(fetcher: subject.fetcher, source: source)
        let result = try await run.run(installingTo: work.path("plain.out"))
        try expect(result.digest == Workspace.digest(content), "the installed digest is \(result.digest), not the content's")
        try expect(try work.read("plain.out") == content, "the installed bytes differ from the content")
        let fetches = run.events.events.filter { $0.task == "fetch" }.map(\.outcome)
        try expect(fetches == ["ok"], "one attempt should have done it; the fetch events were \(fetches)")
    }

    static func truthfulAnnouncement(_ subject: some FetcherConformanceSubject, _ work: Workspace, _ size: Int) async throws {
        let content = Workspace.content(size: size, seed: 10)
        let source = try await subject.publish(content, as: "announced.bin")
        let read = try await StreamAnnouncement.read(subject.fetcher, source, installingTo: work.path("announced.out"))
        try expect(read.announced != nil, "the stream announced no size, and the fetcher declares it does")
        try expect(read.delivered == read.announced, read.mismatch)
    }

    static func cutThenResume(_ subject: some FetcherConformanceSubject, _ work: Workspace, _ size: Int) async throws {
        let content = Workspace.content(size: size, seed: 2)
        let cut = size / 3
        let source = try await subject.publish(content, as: "cut.bin")
        let faulty = FaultyFetcher(subject.fetcher) { index, _ in index == 1 ? .cut(after: cut) : nil }
        try await SingleSourceRun(fetcher: faulty, source: source).run(installingTo: work.path("cut.out"))
        try expect(try work.read("cut.out") == content, "the installed bytes differ from the content")
        let opens = faulty.opens
        try expect(opens.count == 2, "expected one reopen after the cut, saw \(opens.count) opens")
        try expect(opens[1].request.offset == Int64(cut) && opens[1].request.validator != nil,
                   "the runner asked from byte \(opens[1].request.offset) (validator \(opens[1].request.validator.map { "\($0)" } ?? "none")): "
                       + "a stream needs a validator to be resumed")
        try expect(opens[1].answeredFrom == Int64(cut), "asked from byte \(cut), the fetcher answered from \(opens[1].answeredFrom.map(String.init) ?? "-")")
    }

    static func staleBytes(_ subject: some FetcherConformanceSubject, _ work: Workspace, _ size: Int) async throws {
        let content = Workspace.content(size: size, seed: 3)
        let source = try await subject.publish(content, as: "stale.bin")
        let faulty = FaultyFetcher(subject.fetcher) { index, _ in index == 1 ? .stale(bytes: size / 2) : nil }
        try await SingleSourceRun(fetcher: faulty, source: source).run(installingTo: work.path("stale.out"))
        try expect(try work.read("stale.out") == content, "stale bytes were kept: the installed bytes differ from the content")
        try expect(faulty.opens.last?.answeredFrom == 0, "the last stream should start at byte 0")
    }

    static func changedSource(_ subject: some FetcherConformanceSubject, _ work: Workspace, _ size: Int) async throws {
        let first = Workspace.content(size: size, seed: 4)
        let second = Workspace.content(size: size, seed: 5)
        let source = try await subject.publish(first, as: "changed.bin")
        let faulty = FaultyFetcher(subject.fetcher) { index, _ in
            if index == 2 { try await subject.replace(source, with: second) }
            return index == 1 ? .cut(after: size / 2) : nil
        }
        try await SingleSourceRun(fetcher: faulty, source: source).run(installingTo: work.path("changed.out"))
        let installed = try work.read("changed.out")
        try expect(installed != Data(first.prefix(size / 2) + second.suffix(from: size / 2)),
                   "the two versions were spliced: the validator did not stop the resume")
        try expect(installed == second, "the installed bytes are not the new version (\(installed.count) bytes, "
                       + "the old version's: \(installed == first); opens: \(faulty.opens.map { "\($0.request.offset)→\($0.answeredFrom.map(String.init) ?? "-")" }))")
    }

    static func deadline(_ subject: some FetcherConformanceSubject, _ work: Workspace, _ size: Int) async throws {
        let content = Workspace.content(size: size, seed: 6)
        let source = try await subject.publish(content, as: "stall.bin")
        let faulty = FaultyFetcher(subject.fetcher) { _, _ in .stall(after: size / 4) }
        let run = SingleSourceRun(fetcher: faulty, source: source,
                                  retry: RetryPolicy(attempts: 1, perAttemptTimeout: .seconds(1)))
        let started = ContinuousClock.now
        let failure = try await expectFailure { try await run.run(installingTo: work.path("stall.out")) }
        let took = started.duration(to: .now)
        try expect(failure.reason == .timeout && failure.kind == .networkTimeout,
                   "a stalled attempt should end as a timeout (exit 40), not \(failure)")
        // Wide enough for a loaded machine; a stall the deadline does not end lasts until the test's own limit.
        try expect(took < .seconds(30), "the 1 s attempt took \(took)")
        try expect(faulty.cancelCount >= 1, "the stalled body was never cancelled: what it holds is not released")
        try expect(!FileManager.default.fileExists(atPath: work.path("stall.out")), "a file was installed")
        try expect(work.stagingLeft().isEmpty, "staging was left behind: \(work.stagingLeft())")
    }

    static func sizeLimit(_ subject: some FetcherConformanceSubject, _ work: Workspace, _ size: Int) async throws {
        let content = Workspace.content(size: size, seed: 7)
        let source = try await subject.publish(content, as: "large.bin")
        let run = SingleSourceRun(fetcher: subject.fetcher, source: source, maxSize: Int64(size - 1))
        let failure = try await expectFailure { try await run.run(installingTo: work.path("large.out")) }
        try expect(failure.reason == .tooLarge && failure.kind == .integrityMismatch,
                   "content over --max-size should fail as too large (exit 50), not \(failure)")
        try expect(run.events.events.filter { $0.task == "fetch" }.count == 1, "a content too large was tried again")
        try expect(!FileManager.default.fileExists(atPath: work.path("large.out")), "a file was installed")
        try await SingleSourceRun(fetcher: subject.fetcher, source: source, maxSize: Int64(size)).run(installingTo: work.path("exact.out"))
    }

    static func progressOrder(_ subject: some FetcherConformanceSubject, _ work: Workspace, _ size: Int) async throws {
        let content = Workspace.content(size: size, seed: 8)
        let source = try await subject.publish(content, as: "progress.bin")
        let progress = RecordingProgress()
        let faulty = FaultyFetcher(subject.fetcher) { index, _ in index == 1 ? .cut(after: size / 2) : nil }
        try await SingleSourceRun(fetcher: faulty, source: source, progress: progress).run(installingTo: work.path("progress.out"))
        let calls = progress.calls
        try expect(calls.first?.hasPrefix("started ") == true, "progress must start with started, got \(calls.prefix(1))")
        try expect(calls.filter { $0.hasPrefix("started") }.count == 1, "started was called more than once")
        try expect(calls.last == "finished" && calls.filter { $0 == "finished" }.count == 1, "finished must come once, last")
        let advanced = calls.compactMap { $0.hasPrefix("advanced ") ? Int64($0.dropFirst(9)) : nil }
        try expect(advanced == advanced.sorted(), "advanced went backwards over a resume")
        try expect(advanced.last == Int64(size), "the last advance is \(advanced.last.map(String.init) ?? "-"), not \(size)")
    }

    static func cancellation(_ subject: some FetcherConformanceSubject, _ work: Workspace, _ size: Int) async throws {
        let content = Workspace.content(size: size, seed: 9)
        let source = try await subject.publish(content, as: "cancel.bin")
        let faulty = FaultyFetcher(subject.fetcher) { _, _ in .stall(after: size / 4) }
        let run = SingleSourceRun(fetcher: faulty, source: source)
        let task = Task { try await run.run(installingTo: work.path("cancel.out")) }
        let giveUp = ContinuousClock.now + .seconds(10)
        while !faulty.isStalled, ContinuousClock.now < giveUp { try await Task.sleep(for: .milliseconds(10)) }
        try expect(faulty.isStalled, "the stream never reached its stall")
        let cancelled = ContinuousClock.now
        task.cancel()
        let failure = try await expectFailure { _ = try await task.value }
        try expect(cancelled.duration(to: .now) < .seconds(20), "the run took \(cancelled.duration(to: .now)) to end after cancellation")
        try expect(failure.reason == .cancelled, "a cancelled run should end as cancelled, not \(failure)")
        try expect(faulty.cancelCount >= 1, "the stalled body was never cancelled")
        try expect(work.stagingLeft().isEmpty, "staging was left behind: \(work.stagingLeft())")
    }

    static func notFound(_ subject: some FetcherConformanceSubject, _ work: Workspace) async throws {
        let source = try await subject.missing()
        let run = SingleSourceRun(fetcher: subject.fetcher, source: source)
        let failure = try await expectFailure { try await run.run(installingTo: work.path("missing.out")) }
        try expect(failure.reason == .notFound, "a missing source should fail as not found, not \(failure)")
        let notFoundCodes = [ExitCodeTable.Family.download, .registry, .local].map { ExitCodeTable.kind(for: .notFound, codes: $0) }
        try expect(notFoundCodes.contains(failure.kind), "exit code \(failure.kind.exitCode) for a missing \(source.scheme) source, not a not-found code")
        try expect(run.events.events.filter { $0.task == "fetch" }.count == 1, "a missing source was tried again")
    }

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure(check: "", message: message()) }
    }

    static func expectFailure(_ body: () async throws -> Void) async throws -> PkgfetchError {
        do {
            try await body()
        } catch let failure as PkgfetchError {
            return failure
        }
        throw ConformanceFailure(check: "", message: "expected the run to fail, and it succeeded")
    }
}

/// A conformance check that failed: which, and what was seen.
public struct ConformanceFailure: Error, CustomStringConvertible {
    /// The check's name.
    public var check: String
    /// What went wrong.
    public var message: String

    /// `fetcher conformance, <check>: <message>`.
    public var description: String { "fetcher conformance, \(check): \(message)" }
}

/// A scratch directory for the checks' installs.
struct Workspace {
    let root: String

    init() throws {
        root = (ProcessInfo.processInfo.environment["TMPDIR"].map { $0.hasSuffix("/") ? $0 : $0 + "/" } ?? "/tmp/") + "pkgfetch-conformance-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { root + "/" + name }
    func read(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }
    func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// Staging directories left in the workspace.
    func stagingLeft() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix(".pkgfetch-staging-") }
    }

    /// `size` bytes that differ for each seed.
    static func content(size: Int, seed: UInt64) -> Data {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var bytes = [UInt8](repeating: 0, count: size)
        for index in 0..<size {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            bytes[index] = UInt8(truncatingIfNeeded: state)
        }
        return Data(bytes)
    }

    static func digest(_ data: Data) -> Pipeline.SHA256Digest { Pipeline.SHA256Digest(SHA256.hash(data: data)) }
}
