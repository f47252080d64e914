#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Pipeline

/// What the checks "nothing left running" and "describe" share between `FetcherConformance` and
/// `SourceConformance`.
enum SharedChecks {
    /// The processes of this user whose environment holds `PKGFETCH_FILE_NAME=<fileName>`: a helper run
    /// for a package of that (unique) file name, and whatever it started (children inherit it), even a
    /// daemon that left its group; `pid (command)` each.
    static func processes(markedWith fileName: String) -> [String] {
        let marker = Data("PKGFETCH_FILE_NAME=\(fileName)".utf8)
        let ours = getpid()
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry), pid != ours,
                  let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { return nil }
            guard environment.split(separator: 0).contains(where: { $0.elementsEqual(marker) }) else { return nil }
            let command = FileManager.default.contents(atPath: "/proc/\(entry)/comm").map { String(decoding: $0, as: UTF8.self) } ?? "?"
            return "\(pid) (\(command.trimmingWhitespace))"
        }
    }

    /// A stalled attempt of `fetcher` ended at its 1 s deadline leaves no process behind: any the
    /// fetcher started for it (a helper and its children) is gone within 10 s of the attempt's end (polled: a loaded
    /// machine may take seconds to reap, and a helper left running is still told from one that is slow).
    static func nothingLeftRunning(_ fetcher: any Fetcher, _ source: Source, stallAfter bytes: Int, installingTo path: String) async throws {
        let fileName = "conformance-\(UUID().uuidString.prefix(8).lowercased()).bin"
        let faulty = FaultyFetcher(fetcher) { _, _ in .stall(after: max(bytes, 1)) }
        let run = SingleSourceRun(fetcher: faulty, source: source, fileName: fileName, retry: RetryPolicy(attempts: 1, perAttemptTimeout: .seconds(1)))
        let failure = try await FetcherConformance.expectFailure { try await run.run(installingTo: path) }
        try FetcherConformance.expect(failure.reason == .timeout, "a stalled attempt should end as a timeout (exit 40), not \(failure)")
        let giveUp = ContinuousClock.now + .seconds(10)
        var left = processes(markedWith: fileName)
        while !left.isEmpty, ContinuousClock.now < giveUp {
            try await Task.sleep(for: .milliseconds(50))
            left = processes(markedWith: fileName)
        }
        try FetcherConformance.expect(left.isEmpty, "10 s after the attempt's deadline, processes of the attempt still run: \(left.joined(separator: ", "))")
    }

    /// A fetcher that can say what a source holds without fetching it says what the bytes are: `digest`
    /// and `size` for `source`, not found (once asked) for `missing`.
    static func describe(_ fetcher: any DescribingFetcher, _ source: Source, digest: SHA256Digest, size: Int, missing: Source) async throws {
        func context(_ source: Source) -> FetchContext {
            FetchContext(plan: Plan(rule: "conformance", package: "package", fileName: "package.bin", sources: [source]), attempt: 1,
                         deadline: .now + .seconds(30), events: EventEmitter())
        }
        let described = try await fetcher.describe(source, context: context(source))
        try FetcherConformance.expect(described.digest == nil || described.digest == digest,
                                      "describe says digest \(described.digest.map { "\($0)" } ?? "-"), the bytes are \(digest)")
        try FetcherConformance.expect(described.size == nil || described.size == Int64(size),
                                      "describe says \(described.size.map(String.init) ?? "-") bytes, the content is \(size)")
        try FetcherConformance.expect(described.digest != nil || described.size != nil, "describe said neither digest nor size")
        do {
            let nothing = try await fetcher.describe(missing, context: context(missing))
            throw ConformanceFailure(check: "", message: "describe of \(missing.redacted), which holds nothing, answered \(nothing)")
        } catch let failure as PkgfetchError {
            try FetcherConformance.expect(failure.reason == .notFound, "describe of \(missing.redacted) should fail as not found, not \(failure)")
        }
    }
}
