import Foundation
import Pipeline
import PipelineTesting
import Testing
import TestSupport

@Suite(.offPool) struct RetryPolicyTests {
    @Test func backoffDoublesUpToTheCap() {
        let policy = RetryPolicy(attempts: 8, initialDelay: .seconds(1), maxDelay: .seconds(10), jitter: 0.5)
        let delays = (1...6).map { policy.delay(afterFailedAttempts: $0, unit: 0) }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10)])
    }

    @Test func jitterStaysInsideItsBand() {
        let policy = RetryPolicy(initialDelay: .seconds(4), jitter: 0.5)
        #expect(policy.delay(afterFailedAttempts: 1, unit: 0) == .seconds(4))
        #expect(policy.delay(afterFailedAttempts: 1, unit: 0.5) == .seconds(3))
        #expect(policy.delay(afterFailedAttempts: 1, unit: 0.999) > .seconds(2))
    }

    @Test func retryAfterWinsOverBackoff() {
        let policy = RetryPolicy(initialDelay: .seconds(10))
        #expect(policy.wait(afterFailedAttempts: 1, retryAfter: .seconds(1), unit: 0) == .seconds(1))
        #expect(policy.wait(afterFailedAttempts: 1, retryAfter: nil, unit: 0) == .seconds(10))
        #expect(policy.wait(afterFailedAttempts: 1, retryAfter: .seconds(86_400), unit: 0) == policy.maxDelay)
    }

    /// A fleet told `Retry-After: 2` must not come back in one wave: each node waits at least 2 s and
    /// up to `jitter` more, placed by its own random unit.
    @Test func retryAfterIsAFloorWithJitterAbove() {
        let policy = RetryPolicy(jitter: 0.5)
        let waits = [0, 0.25, 0.5, 0.999].map { policy.wait(afterFailedAttempts: 1, retryAfter: .seconds(2), unit: $0) }
        #expect(waits.first == .seconds(2))
        #expect(waits.allSatisfy { $0 >= .seconds(2) && $0 < .seconds(3) })
        #expect(Set(waits).count == waits.count, "different nodes, different waits: \(waits)")
        #expect(policy.wait(afterFailedAttempts: 1, retryAfter: .seconds(86_400), unit: 0.5) == policy.maxDelay * 1.25)
    }

    @Test func runnerSleepsOnTheScheduleAndSucceeds() async throws {
        let dir = try TemporaryDirectory()
        let clock = VirtualClock()
        let fetcher = ScriptedFetcher(failures: [
            PkgfetchError(.httpDownloadFailed, "HTTP 503", retryable: true),
            PkgfetchError(.httpDownloadFailed, "HTTP 503", retryable: true),
        ])
        let events = CollectingEventSink()
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": fetcher],
                                retry: RetryPolicy(attempts: 3, initialDelay: .seconds(2)), clock: clock, events: events)
        let result = try await runner.run(PackageRequest(url: "https://cdn/pkg.tar.gz", target: .file(path: dir.path + "/out")))
        #expect(fetcher.attemptCount == 3)
        #expect(clock.sleeps == [.seconds(2), .seconds(4)])
        #expect(result.bytes == Int64(fetcher.content.count))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/out")) == fetcher.content)
        #expect(events.events.filter { $0.task == "fetch" }.map(\.outcome) == ["retry", "retry", "ok"])
        #expect(events.events.allSatisfy { $0.operationId == "op-1" })
        #expect(events.events.first { $0.outcome == "retry" }?.retryReason == "HTTP 503")
    }

    @Test func serverRetryAfterIsHonoured() async throws {
        let dir = try TemporaryDirectory()
        let clock = VirtualClock()
        let fetcher = ScriptedFetcher(failures: [PkgfetchError(.httpDownloadFailed, "HTTP 429", retryable: true, retryAfter: .seconds(7))])
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": fetcher], clock: clock)
        _ = try await runner.run(PackageRequest(url: "x", target: .file(path: dir.path + "/out")))
        #expect(clock.sleeps == [.seconds(7)])
    }

    @Test func exhaustedRetriesReportTheLastError() async throws {
        let dir = try TemporaryDirectory()
        let failure = PkgfetchError(.httpDownloadFailed, "HTTP 500", retryable: true)
        let fetcher = ScriptedFetcher(failures: [failure, failure, failure])
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": fetcher])
        let thrown = await #expect(throws: PkgfetchError.self) {
            try await runner.run(PackageRequest(url: "x", target: .file(path: dir.path + "/out")))
        }
        #expect(thrown?.kind == .httpDownloadFailed)
        #expect(fetcher.attemptCount == 3)
        #expect(dir.listing() == [])
    }

    @Test func nonRetryableErrorMovesToTheNextSourceAtOnce() async throws {
        let dir = try TemporaryDirectory()
        let clock = VirtualClock()
        let registry = ScriptedFetcher(failures: [PkgfetchError(.artifactNotFound, "tag not found")])
        let cdn = ScriptedFetcher()
        let events = CollectingEventSink()
        let runner = makeRunner(sources: [Source(scheme: "oci", location: "r/x:v1"), .url("https://cdn/pkg.tar.gz")],
                                fetchers: ["oci": registry, "https": cdn], clock: clock, events: events)
        let result = try await runner.run(PackageRequest(url: "x", target: .file(path: dir.path + "/out")))
        #expect(result.source.scheme == "https")
        #expect(registry.attemptCount == 1)
        #expect(clock.sleeps == [])
        #expect(events.events.filter { $0.task == "fetch" }.map { "\($0.outcome) \($0.error ?? "-")" } == ["failed artifact-not-found", "ok -"])
    }

    @Test func deadlineStopsRetrying() async throws {
        let dir = try TemporaryDirectory()
        let clock = VirtualClock()
        let failure = PkgfetchError(.httpDownloadFailed, "HTTP 503", retryable: true)
        let fetcher = ScriptedFetcher(failures: Array(repeating: failure, count: 10))
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": fetcher],
                                retry: RetryPolicy(attempts: 10, initialDelay: .seconds(4), deadline: .seconds(10)), clock: clock)
        await #expect(throws: PkgfetchError.self) {
            try await runner.run(PackageRequest(url: "x", target: .file(path: dir.path + "/out")))
        }
        // 4 s, then 8 s would end past the 10 s deadline: two attempts only.
        #expect(fetcher.attemptCount == 2)
        #expect(clock.sleeps == [.seconds(4)])
    }

    @Test func expectedDigestMismatchIsIntegrityMismatchAndTriesNextSource() async throws {
        let dir = try TemporaryDirectory()
        let wrong = ScriptedFetcher(content: Data("tampered".utf8))
        let right = ScriptedFetcher()
        var runner = makeRunner(sources: [Source(scheme: "file", location: "/cache/pkg"), .url("https://cdn/pkg.tar.gz")],
                                fetchers: ["file": wrong, "https": right])
        runner.retry = RetryPolicy(attempts: 1)
        let expected = try #require(SHA256Digest(Data("package bytes".utf8).sha256Hex))
        let result = try await runner.run(PackageRequest(url: "x", expectedDigest: expected, target: .file(path: dir.path + "/out")))
        #expect(result.source.scheme == "https")
        #expect(result.digest == expected)

        let onlyWrong = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher(content: Data("x".utf8))])
        let thrown = await #expect(throws: PkgfetchError.self) {
            try await onlyWrong.run(PackageRequest(url: "x", expectedDigest: expected, target: .file(path: dir.path + "/other")))
        }
        #expect(thrown?.kind == .integrityMismatch)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/other"))
    }

    @Test func sizeFromTheSourceIsChecked() async throws {
        let dir = try TemporaryDirectory()
        let fetcher = ScriptedFetcher(promise: ExpectedContent(size: 3))
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": fetcher])
        let thrown = await #expect(throws: PkgfetchError.self) {
            try await runner.run(PackageRequest(url: "x", target: .file(path: dir.path + "/out")))
        }
        #expect(thrown?.kind == .integrityMismatch)
    }

    @Test func planWithoutHandledSourceIsNoSource() async throws {
        let dir = try TemporaryDirectory()
        let runner = makeRunner(sources: [Source(scheme: "s3", location: "bucket/x")], fetchers: ["https": ScriptedFetcher()])
        let thrown = await #expect(throws: PkgfetchError.self) {
            try await runner.run(PackageRequest(url: "x", target: .file(path: dir.path + "/out")))
        }
        #expect(thrown?.kind == .noSource)
    }
}

/// `RetryPolicy.decide`: the one retry decision, for the runner and the identity steps alike.
@Suite struct RetryDecisionTests {
    let policy = RetryPolicy(attempts: 3, initialDelay: .seconds(2), maxDelay: .seconds(10), jitter: 0)

    @Test func retryableReasonsWaitTheBackoffOrTheServersTime() {
        #expect(policy.decide(attempt: 1, error: PkgfetchError(.unavailable, "503"), unit: 0) == .wait(.seconds(2)))
        #expect(policy.decide(attempt: 2, error: PkgfetchError(.timeout, "slow"), unit: 0) == .wait(.seconds(4)))
        #expect(policy.decide(attempt: 1, error: PkgfetchError(.unavailable, "429", retryAfter: .seconds(7)), unit: 0) == .wait(.seconds(7)))
        #expect(policy.decide(attempt: 1, error: PkgfetchError(.unavailable, "429", retryAfter: .seconds(600)), unit: 0) == .wait(.seconds(10)))
    }

    @Test(arguments: FailureReason.allCases.filter { !RetryPolicy.retryableReasons.contains($0) })
    func otherReasonsStopAtOnce(reason: FailureReason) {
        #expect(policy.decide(attempt: 1, error: PkgfetchError(reason, "x"), unit: 0) == .stop(.notRetryable))
    }

    @Test func theBudgetAndTheDeadlineStopIt() {
        #expect(policy.decide(attempt: 3, error: PkgfetchError(.unavailable, "503"), unit: 0) == .stop(.attemptsSpent))
        #expect(policy.decide(attempt: 1, error: PkgfetchError(.unavailable, "503"), timeLeft: .seconds(2), unit: 0) == .stop(.deadline))
        #expect(policy.decide(attempt: 1, error: PkgfetchError(.unavailable, "503"), timeLeft: .seconds(3), unit: 0) == .wait(.seconds(2)))
    }
}

/// Durations as people read them in retry lines and final errors: rounded to what matters.
@Suite struct SpokenDurationTests {
    @Test func roundsToWhatMattersAtEachSize() {
        #expect(Duration.milliseconds(249).spoken == "249 ms")
        #expect(Duration.nanoseconds(249_571_474).spoken == "249 ms")
        #expect(Duration.milliseconds(9_849).spoken == "9.8 s")
        #expect(Duration.milliseconds(42_400).spoken == "42 s")
        #expect(Duration.seconds(125).spoken == "2 min 5 s")
        #expect(Duration.seconds(120).spoken == "2 min")
    }
}
