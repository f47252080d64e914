import Foundation
import Pipeline
import PipelineTesting
import Testing
import TestSupport

/// The runner enforces each attempt's deadline whatever the fetcher does.
@Suite(.offPool) struct AttemptDeadlineTests {
    /// Never answers, and ignores cancellation: the worst a fetcher can do.
    final class DeafFetcher: Fetcher, @unchecked Sendable {
        private let lock = NSLock()
        private var opened = 0
        var opens: Int { lock.withLock { opened } }

        func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
            lock.withLock { opened += 1 }
            await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }  // never resumed
            return FetchedStream(body: .bytes(Data()))
        }
    }

    /// Writes a little, then keeps writing in a loop that ignores cancellation; its late writes must
    /// not reach the staging file of the attempt after it. The loop blocks, as a runaway library
    /// would, on a thread of its own: on the cooperative pool it would hold one of two threads for 3 s.
    struct RunawayWriter: Fetcher {
        let first: Data
        func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
            if context.attempt > 1 { return FetchedStream(validator: .token("v"), body: .bytes(first)) }
            return FetchedStream(validator: .token("v"), body: .writer { sink in
                try sink.write(first.prefix(3))
                try await offPool {
                    let end = ContinuousClock.now + .seconds(3)
                    while ContinuousClock.now < end {
                        try? sink.write(Data("late".utf8))   // refused once the attempt is over; keeps going anyway
                        usleep(10_000)
                    }
                }
            })
        }
    }

    @Test func aFetcherThatNeverAnswersIsStoppedAtEachAttemptsDeadline() async throws {
        let dir = try TemporaryDirectory()
        let fetcher = DeafFetcher()
        let events = CollectingEventSink()
        let run = SingleSourceRun(fetcher: fetcher, source: .url("https://cdn/pkg.bin"),
                                  retry: RetryPolicy(attempts: 2, initialDelay: .milliseconds(10), perAttemptTimeout: .milliseconds(300)),
                                  events: events)
        let started = ContinuousClock.now
        let failure = await #expect(throws: PkgfetchError.self) { try await run.run(installingTo: dir.join("out")) }
        // The fetcher never returns, so the run ending at all shows the deadline was enforced; the bound
        // tells 2 × 300 ms from the 300 s default and leaves room for a loaded machine (CI saw 16.9 s
        // while every suite started at once).
        #expect(started.duration(to: .now) < .seconds(60))
        #expect(failure?.kind == .networkTimeout)
        #expect(failure?.message.contains("--timeout") == true)
        #expect(fetcher.opens == 2)
        #expect(events.events.filter { $0.task == "fetch" }.map(\.outcome) == ["retry", "failed"])
        #expect(dir.listing() == [])
    }

    @Test func writesAfterTheDeadlineNeverReachTheFile() async throws {
        let dir = try TemporaryDirectory()
        let content = Data("0123456789".utf8)
        let run = SingleSourceRun(fetcher: RunawayWriter(first: content), source: .url("https://cdn/pkg.bin"),
                                  retry: RetryPolicy(attempts: 2, initialDelay: .milliseconds(10), perAttemptTimeout: .milliseconds(300)))
        let result = try await run.run(installingTo: dir.join("out"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.join("out"))) == content)
        #expect(result.bytes == Int64(content.count))
    }
}
