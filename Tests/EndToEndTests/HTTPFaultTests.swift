import Foundation
import Testing
import TestSupport

/// The CLI against the fault server: resume, Retry-After, stalls, bad ranges, bad digests, statuses, events.
@Suite(.offPool) struct HTTPFaultTests {
    let body = TestBodies.random(size: 8 << 20, seed: 21)
    var digest: String { TestBodies.sha256(of: body) }

    @Test func transferCutAtHalfCompletesWithA206Resume() async throws {
        let server = try FaultServer()
        let half = body.count / 2
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: half)])
        let dir = try TemporaryDirectory("e2e")
        let (run, _) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--output", dir.join("out/pkg.zip"), "--sha256", digest,
                                             "--events", dir.join("events.jsonl")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("out/pkg.zip")) == digest)
        let requests = server.requests()
        #expect(requests.map(\.path) == ["/pkg.zip", "/pkg.zip"])
        #expect(requests.map { $0.header("Range") } == [nil, "bytes=\(half)-"])
        let events = try EventLines(dir.join("events.jsonl"))
        #expect(events.task("resume").first?["bytes"] as? Int == half)
        // One attempt: the resume happened inside it.
        #expect(events.task("fetch").map { $0["outcome"] as? String } == ["ok"])
        #expect(events.task("fetch").first?["status"] as? Int == 206)
    }

    /// The file changed on the CDN while it was being downloaded (no --sha256 to catch a mix): the
    /// resume sends the first version's ETag in If-Range, gets the new version whole, and installs it —
    /// never the old file's first half followed by the new one's second.
    @Test func aFileReplacedMidDownloadIsInstalledWholeNotSpliced() async throws {
        let server = try FaultServer()
        let newer = TestBodies.random(size: body.count, seed: 22)
        server.serve("/pkg.zip", body: body, faults: [.cutAndReplace(afterBytes: body.count / 2, body: newer)])
        let dir = try TemporaryDirectory("e2e-splice")
        let (run, _) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--output", dir.join("pkg.zip")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("pkg.zip")) == TestBodies.sha256(of: newer))
        #expect(server.requests().map { $0.header("If-Range") } == [nil, FaultServer.entityTag(of: body)])
    }

    @Test func serviceUnavailableWithRetryAfterIsWaitedFor() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.status(503, headers: ["Retry-After": "1"])])
        let dir = try TemporaryDirectory("e2e")
        let (run, took) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--output", dir.join("pkg.zip"), "--retry-delay", "10ms",
                                                "--events", dir.join("events.jsonl")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("pkg.zip")) == digest)
        let requests = server.requests(to: "/pkg.zip")
        try #require(requests.count == 2)
        #expect(requests[0].at.duration(to: requests[1].at) >= .milliseconds(900))
        #expect(took >= .milliseconds(900))
        let fetches = try EventLines(dir.join("events.jsonl")).task("fetch")
        #expect(fetches.map { $0["outcome"] as? String } == ["retry", "ok"])
        #expect(fetches.map { $0["status"] as? Int } == [503, 200])
        #expect(fetches.first?["retryReason"] as? String != nil)
    }

    @Test(.alone) func retryAfterBeyondTheDeadlineIsNotWaitedFor() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.status(429, headers: ["Retry-After": "600"])])
        let dir = try TemporaryDirectory("e2e")
        let (run, took) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--output", dir.join("pkg.zip"), "--deadline", "120s"])
        #expect(run.status == 20, "\(run.stderr)")
        // Given up at once, not at the deadline (120 s): room for a loaded machine.
        #expect(took < .seconds(60), "\(took)")
        #expect(server.requests().count == 1)
    }

    /// A host that never answers the SYN: each attempt gives up after --connect-timeout, not --timeout.
    @Test(.alone) func unansweredConnectGivesUpAtTheConnectTimeout() async throws {
        let blackHole = try UnansweredPort()
        let dir = try TemporaryDirectory("e2e-connect")
        let url = "http://127.0.0.1:\(blackHole.port)/azure-cni/v1.6.20/binaries/azure-vnet-cni-linux-amd64-v1.6.20.tgz"
        let (run, took) = try await LoopbackCLI.fetch([url, "--output", dir.join("out/cni.tgz"), "--timeout", "300s",
                                                       "--connect-timeout", "1s", "--retries", "1", "--retry-delay", "100ms"])
        #expect(run.status == 40, "\(run.stderr)")
        #expect(run.stderr.contains("error[network-timeout]"), "\(run.stderr)")
        // Two attempts of about 1 s each: not the 30 s default connect timeout, nor --timeout (300 s),
        // with room for a loaded machine.
        #expect(took > .milliseconds(1900) && took < .seconds(40), "\(took)")
        #expect(dir.listing().isEmpty || dir.listing() == ["out"])
    }

    @Test(.alone) func stalledTransferExits40WithinTheAttemptTimeout() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.stall(afterBytes: 100_000)])
        let dir = try TemporaryDirectory("e2e")
        try FileManager.default.createDirectory(atPath: dir.join("out"), withIntermediateDirectories: true)
        let (run, took) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--output", dir.join("out/pkg.zip"),
                                                "--timeout", "2s", "--stall-timeout", "300s", "--retries", "0"])
        #expect(run.status == 40, "\(run.stderr)")
        #expect(run.stderr.contains("error[network-timeout]"))
        // Waited for the attempt's timeout (2 s; load only makes that longer), and ended there, not at
        // the stall limit (300 s), with room for a loaded machine.
        #expect(took >= .seconds(2) && took < .seconds(60), "\(took)")
        let request = try #require(server.requests().first)
        let gaveUp = request.at.duration(to: try #require(request.ended))
        #expect(gaveUp < .seconds(60), "\(gaveUp)")
        #expect(dir.listing() == ["out"])
    }

    @Test func nextAttemptResumesWhatATimedOutAttemptGot() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.stall(afterBytes: 2_000_000)])
        let dir = try TemporaryDirectory("e2e")
        let (run, _) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--output", dir.join("pkg.zip"), "--sha256", digest,
                                                   "--timeout", "2s", "--retries", "1", "--retry-delay", "10ms",
                                                   "--events", dir.join("events.jsonl")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("pkg.zip")) == digest)
        #expect(server.requests().map { $0.header("Range") } == [nil, "bytes=2000000-"])
        let fetches = try EventLines(dir.join("events.jsonl")).task("fetch")
        #expect(fetches.map { $0["outcome"] as? String } == ["retry", "ok"])
        #expect(fetches.map { $0["error"] as? String } == ["network-timeout", nil])
        #expect(fetches.first?["bytes"] as? Int == 2_000_000)
    }

    @Test func serverIgnoringRangeStillYieldsTheRightFile() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: 3_000_000), .ignoreRange])
        let dir = try TemporaryDirectory("e2e")
        let (run, _) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--output", dir.join("pkg.zip"), "--sha256", digest])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("pkg.zip")) == digest)
        #expect(server.requests().map { $0.header("Range") } == [nil, "bytes=3000000-"])
    }

    @Test func wrongContentRangeStillYieldsTheRightFile() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.cut(afterBytes: 3_000_000), .wrongContentRange])
        let dir = try TemporaryDirectory("e2e")
        let (run, _) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--output", dir.join("pkg.zip"), "--sha256", digest])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("pkg.zip")) == digest)
        #expect(server.requests().map { $0.header("Range") } == [nil, "bytes=3000000-", nil])
    }

    @Test func digestMismatchExits50AndLeavesNothing() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.corrupt])
        let dir = try TemporaryDirectory("e2e")
        try FileManager.default.createDirectory(atPath: dir.join("out"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.join("dest"), withIntermediateDirectories: true)
        let (run, _) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--output", dir.join("out/pkg.zip"), "--sha256", digest])
        #expect(run.status == 50, "\(run.stderr)")
        #expect(run.stderr.contains("error[integrity-mismatch]"))
        server.serve("/pkg.zip", body: body, faults: [.corrupt])
        let (unpack, _) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--dest", dir.join("dest"), "--no-unpack", "--sha256", digest])
        #expect(unpack.status == 50, "\(unpack.stderr)")
        // Not retried, and no staging debris beside either destination.
        #expect(server.requests().count == 2)
        #expect(dir.listing() == ["dest", "out"])
    }

    @Test func notFoundExits21AfterOneRequest() async throws {
        let server = try FaultServer()
        let dir = try TemporaryDirectory("e2e")
        let (run, _) = try await LoopbackCLI.fetch([server.url("/missing.zip"), "--output", dir.join("pkg.zip"), "--retry-delay", "10ms"])
        #expect(run.status == 21, "\(run.stderr)")
        #expect(run.stderr.contains("error[http-not-found]"))
        #expect(server.requests().count == 1)
        #expect(dir.listing().isEmpty)
    }

    @Test func persistentServerErrorExits20AfterTheRetries() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: Array(repeating: .status(500), count: 10))
        let dir = try TemporaryDirectory("e2e")
        let (run, _) = try await LoopbackCLI.fetch([server.url("/pkg.zip"), "--output", dir.join("pkg.zip"), "--retries", "2",
                                             "--retry-delay", "10ms", "--events", dir.join("events.jsonl")])
        #expect(run.status == 20, "\(run.stderr)")
        #expect(server.requests().count == 3)
        let fetches = try EventLines(dir.join("events.jsonl")).task("fetch")
        #expect(fetches.map { $0["outcome"] as? String } == ["retry", "retry", "failed"])
        #expect(fetches.map { $0["status"] as? Int } == [500, 500, 500])
        #expect(fetches.map { $0["attempt"] as? Int } == [1, 2, 3])
    }

    @Test func eventsAndMessagesCarryNoQueryString() async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: body, faults: [.status(503, headers: ["Retry-After": "0"]), .cut(afterBytes: 1_000_000)])
        let dir = try TemporaryDirectory("e2e")
        let url = server.url("/pkg.zip?sig=secret&se=2030")
        let (run, _) = try await LoopbackCLI.fetch([url, "--output", dir.join("pkg.zip"), "--json", "--events", dir.join("events.jsonl"),
                                             "--retry-delay", "10ms", "--verbose"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(server.requests().allSatisfy { $0.target == "/pkg.zip?sig=secret&se=2030" })
        let events = try EventLines(dir.join("events.jsonl"))
        for text in [events.text, run.stdout, run.stderr] {
            #expect(!text.contains("secret"))
            #expect(!text.contains("sig="))
        }
        let fetches = events.task("fetch")
        #expect(fetches.map { $0["status"] as? Int } == [503, 206])
        #expect(fetches.allSatisfy { $0["source"] as? String == server.url("/pkg.zip") && $0["durationMs"] is Int && $0["bytes"] is Int })
        #expect(events.task("resume").count == 1)
        // Every line has its time (RFC 3339, milliseconds) and the run's one id.
        #expect(events.objects.allSatisfy { ($0["time"] as? String)?.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z/) != nil })
        #expect(Set(events.objects.compactMap { $0["runId"] as? String }).count == 1 && events.objects.allSatisfy { $0["runId"] is String })
    }
}
