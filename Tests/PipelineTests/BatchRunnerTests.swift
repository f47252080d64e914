import Foundation
import Pipeline
import PipelineTesting
import Testing
import TestSupport

/// `BatchRunner`: bounded parallelism, one lane per shared directory, every package tried, one deadline.
@Suite(.offPool) struct BatchRunnerTests {
    /// Plans each request's URL as its own source, so every package has its own bytes.
    struct URLResolver: Resolver {
        func resolve(_ request: PackageRequest) throws -> Plan {
            Plan(rule: "test", package: request.url, version: "v1", fileName: "pkg.bin", format: nil,
                 sources: [Source(scheme: "probe", location: request.url)])
        }
    }

    /// Counts fetches in flight. Until `gather` have been in flight at once, each fetch waits for
    /// that (polled, up to 30 s), so the peak is reached whatever the scheduler does; then it moves
    /// the clock on by `cost`.
    final class ProbeFetcher: Fetcher, @unchecked Sendable {
        private let lock = NSLock()
        private var inFlight = 0
        private(set) var peak = 0
        private(set) var log: [String] = []
        let gather: Int
        let clock: VirtualClock
        let cost: Duration

        init(gather: Int = 1, clock: VirtualClock = VirtualClock(), cost: Duration = .zero) {
            self.gather = gather
            self.clock = clock
            self.cost = cost
        }

        var snapshot: (peak: Int, log: [String]) { lock.withLock { (peak, log) } }

        func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
            let source = request.source
            lock.withLock {
                inFlight += 1
                peak = max(peak, inFlight)
                log.append("start \(source.location)")
            }
            let giveUp = ContinuousClock.now + .seconds(30)
            while lock.withLock({ peak < gather }), ContinuousClock.now < giveUp { try await Task.sleep(for: .milliseconds(5)) }
            if source.location.hasSuffix("missing") {
                lock.withLock { inFlight -= 1 }
                throw PkgfetchError(.httpNotFound, "404 for \(source.location)")
            }
            try await clock.sleep(until: clock.now + cost)
            lock.withLock {
                inFlight -= 1
                log.append("end \(source.location)")
            }
            return FetchedStream(body: .bytes(Data("bytes of \(source.location)".utf8)))
        }
    }

    func batch(_ fetcher: ProbeFetcher, parallel: Int, deadline: Duration? = nil) -> BatchRunner {
        var plugins = PluginRegistry()
        plugins.register(resolver: URLResolver(), named: "cdn")
        plugins.register(fetcher: fetcher, forSchemes: "probe")
        var runner = PipelineRunner(plugins: plugins, retry: RetryPolicy(attempts: 1, deadline: deadline), clock: fetcher.clock)
        runner.logger.logLevel = .critical
        return BatchRunner(runner: runner, parallel: parallel)
    }

    @Test func runsAtMostParallelAtOnceAndEveryPackageLands() async throws {
        let dir = try TemporaryDirectory()
        let fetcher = ProbeFetcher(gather: 3)
        let requests = (1...10).map { PackageRequest(url: "pkg-\($0)", target: .file(path: dir.join("out/\($0).bin"))) }
        let outcomes = await batch(fetcher, parallel: 3).run(requests)
        #expect(fetcher.snapshot.peak == 3)
        for (index, outcome) in outcomes.enumerated() {
            let result = try outcome.get()
            #expect(result.plan.package == "pkg-\(index + 1)")
            #expect(try String(contentsOfFile: dir.join("out/\(index + 1).bin"), encoding: .utf8) == "bytes of pkg-\(index + 1)")
        }
    }

    @Test func packagesMergingIntoOneDirectoryRunInListOrderOneAtATime() async throws {
        let dir = try TemporaryDirectory()
        let fetcher = ProbeFetcher()
        let shared = InstallTarget.directory(path: dir.join("bin"), mode: .merge, unpack: false)
        let requests = ["a", "b", "c"].map { PackageRequest(url: $0, target: shared) }
            + [PackageRequest(url: "other", target: .file(path: dir.join("other.bin")))]
        try BatchRunner.checkDestinations(requests)
        let outcomes = await batch(fetcher, parallel: 4).run(requests)
        #expect(outcomes.allSatisfy { (try? $0.get()) != nil })
        let lane = fetcher.snapshot.log.filter { !$0.hasSuffix("other") }
        #expect(lane == ["start a", "end a", "start b", "end b", "start c", "end c"])
    }

    @Test func aFailedPackageDoesNotStopTheOthers() async throws {
        let dir = try TemporaryDirectory()
        let requests = ["one", "two-missing", "three"].map { PackageRequest(url: $0, target: .file(path: dir.join($0))) }
        let reported = CollectingOutcomes()
        let outcomes = await batch(ProbeFetcher(), parallel: 2).run(requests) { index, outcome in reported.add(index, outcome) }
        #expect((try? outcomes[0].get()) != nil)
        #expect((try? outcomes[2].get()) != nil)
        guard case .failure(let failure) = outcomes[1] else { Issue.record("package 2 must fail"); return }
        #expect(failure.kind == .httpNotFound)
        #expect(reported.indexes == [0, 1, 2])
        #expect(!FileManager.default.fileExists(atPath: dir.join("two-missing")))
    }

    @Test func oneDeadlineCoversTheWholeBatch() async throws {
        let dir = try TemporaryDirectory()
        // Each fetch costs 1 s of virtual time; the batch has 2.5 s: the fourth package starts late.
        let fetcher = ProbeFetcher(cost: .seconds(1))
        let requests = (1...4).map { PackageRequest(url: "pkg-\($0)", target: .file(path: dir.join("\($0).bin"))) }
        let outcomes = await batch(fetcher, parallel: 1, deadline: .milliseconds(2500)).run(requests)
        #expect(outcomes.prefix(3).allSatisfy { (try? $0.get()) != nil })
        guard case .failure(let failure) = outcomes[3] else { Issue.record("package 4 must miss the deadline"); return }
        #expect(failure.kind == .networkTimeout)
    }

    @Test func destinationsThatWouldOverwriteEachOtherAreRefused() throws {
        let file = PackageRequest(url: "a", target: .file(path: "/tmp/x/out.bin"))
        let sameFile = PackageRequest(url: "b", target: .file(path: "/tmp/x/../x/out.bin"))
        let replace = PackageRequest(url: "c", target: .directory(path: "/opt/cni/bin", mode: .replace, unpack: true))
        let merge = PackageRequest(url: "d", target: .directory(path: "/opt/cni/bin/", mode: .merge, unpack: true))
        #expect(throws: PkgfetchError.self) { try BatchRunner.checkDestinations([file, sameFile]) }
        #expect(throws: PkgfetchError.self) { try BatchRunner.checkDestinations([merge, replace]) }
        #expect(throws: Never.self) { try BatchRunner.checkDestinations([merge, merge, file]) }
    }

    /// One destination inside another is a conflict whatever the modes: the outer install races the
    /// inner one, or replaces it whole. The message names both packages.
    @Test(arguments: [InstallMode.replace, .merge])
    func aDestinationInsideAnotherIsRefused(mode: InstallMode) throws {
        let tool = PackageRequest(url: "a", target: .file(path: "/srv/x/tool"))
        let outer = PackageRequest(url: "b", target: .directory(path: "/srv/./x/", mode: mode, unpack: true))
        let unrelated = PackageRequest(url: "c", target: .file(path: "/srv/xy/tool"))
        for requests in [[tool, unrelated, outer], [outer, unrelated, tool]] {
            let thrown = #expect(throws: PkgfetchError.self) { try BatchRunner.checkDestinations(requests) }
            #expect(thrown?.kind == .usage)
            #expect(thrown?.message == "packages 1 and 3: /srv/x/tool is inside /srv/x; one destination may not lie inside another")
        }
        #expect(throws: Never.self) { try BatchRunner.checkDestinations([tool, unrelated]) }
    }

    /// Paths are compared by bytes: two canonically equivalent names are two different files on Linux.
    @Test func destinationsAreComparedAsBytesNotCharacters() throws {
        let composed = PackageRequest(url: "a", target: .file(path: "/srv/caf\u{E9}"))
        let decomposed = PackageRequest(url: "b", target: .file(path: "/srv/cafe\u{301}"))
        #expect(throws: Never.self) { try BatchRunner.checkDestinations([composed, decomposed]) }
        let inside = PackageRequest(url: "c", target: .file(path: "/srv/cafe\u{301}/x"))
        #expect(throws: Never.self) { try BatchRunner.checkDestinations([composed, inside]) }
        #expect(throws: PkgfetchError.self) { try BatchRunner.checkDestinations([decomposed, inside]) }
    }
}

/// The indexes a batch reported, sorted.
final class CollectingOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [Int] = []
    func add(_ index: Int, _ outcome: Result<RunResult, PkgfetchError>) { lock.withLock { seen.append(index) } }
    var indexes: [Int] { lock.withLock { seen.sorted() } }
}
