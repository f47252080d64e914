#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs several packages with one `PipelineRunner`, so they share its connections, registry
/// credentials and tokens: at most `parallel` at once, under one deadline for the whole batch.
/// Packages that install to the same directory run one after another in the order given, so when
/// two hold the same file the later one's copy is the one left.
package struct BatchRunner: Sendable {
    /// The runner every package goes through.
    package var runner: PipelineRunner
    /// Packages fetched at the same time (at least 1).
    package var parallel: Int
    /// The progress reporter of package `index` (each package gets its own: the runner's one reporter
    /// cannot tell packages fetched at the same time apart); nil keeps the runner's.
    package var progress: (@Sendable (Int) -> any ProgressReporter)?

    /// A batch over `runner`, `parallel` packages at a time.
    package init(runner: PipelineRunner, parallel: Int = 4) {
        self.runner = runner
        self.parallel = max(1, parallel)
    }

    /// Rejects requests that would overwrite each other: a destination may be shared only by packages
    /// that all merge into it as a directory, and none may lie inside another (the outer package's
    /// install would race the inner one's, or replace it whole). Paths are compared as `LexicalPath`s,
    /// by bytes, component by component: `/x/e\u{301}` is not `/x/é`, and `/x/tool` is inside `/x`.
    package static func checkDestinations(_ requests: [PackageRequest]) throws {
        var first: [LexicalPath: (index: Int, target: InstallTarget)] = [:]
        for (index, request) in requests.enumerated() {
            let key = LexicalPath(request.target.path)
            guard let earlier = first[key] else {
                first[key] = (index, request.target)
                continue
            }
            if !request.target.mergesIntoDirectory || !earlier.target.mergesIntoDirectory {
                throw PkgfetchError(.usage, "packages \(earlier.index + 1) and \(index + 1) both install to \(key); only directories merged into (--merge) may be shared")
            }
        }
        for (index, request) in requests.enumerated() {
            let path = LexicalPath(request.target.path)
            var ancestor = path
            while !ancestor.isRoot {
                ancestor = ancestor.parent
                guard let outer = first[ancestor] else { continue }
                let (a, b) = (min(outer.index, index), max(outer.index, index))
                throw PkgfetchError(.usage, "packages \(a + 1) and \(b + 1): \(path) is inside \(ancestor); one destination may not lie inside another")
            }
        }
    }

    /// Runs every request and returns their outcomes in the order given; `report` hears each one
    /// as it ends (with its index), from whichever task ran it.
    package func run(_ requests: [PackageRequest],
                    report: @escaping @Sendable (Int, Result<RunResult, PkgfetchError>) -> Void = { _, _ in })
        async -> [Result<RunResult, PkgfetchError>] {
        let deadline = runner.retry.deadline.map { runner.clock.now + $0 }
        var lanes: [[Int]] = []
        var laneOf: [LexicalPath: Int] = [:]
        for (index, request) in requests.enumerated() {
            let key = LexicalPath(request.target.path)
            if let lane = laneOf[key] { lanes[lane].append(index) } else {
                laneOf[key] = lanes.count
                lanes.append([index])
            }
        }
        var outcomes = [Result<RunResult, PkgfetchError>?](repeating: nil, count: requests.count)
        await withTaskGroup(of: [(Int, Result<RunResult, PkgfetchError>)].self) { group in
            var next = 0
            func startLane() {
                guard next < lanes.count else { return }
                let lane = lanes[next]
                next += 1
                group.addTask { [self] in
                    var ended: [(Int, Result<RunResult, PkgfetchError>)] = []
                    for index in lane {
                        let outcome = await runOne(requests[index], index: index, deadline: deadline)
                        report(index, outcome)
                        ended.append((index, outcome))
                    }
                    return ended
                }
            }
            for _ in 0..<parallel { startLane() }
            for await ended in group {
                for (index, outcome) in ended { outcomes[index] = outcome }
                startLane()
            }
        }
        return outcomes.map { $0! }
    }

    /// One package, with its own operation id in the events and what is left of the batch's deadline.
    private func runOne(_ request: PackageRequest, index: Int, deadline: ContinuousClock.Instant?) async -> Result<RunResult, PkgfetchError> {
        var runner = self.runner
        if let progress { runner.progress = progress(index) }
        runner.events = EventEmitter(sink: runner.events.sink)
        if let deadline { runner.retry.deadline = max(.zero, runner.clock.now.duration(to: deadline)) }
        let started = runner.clock.now
        do {
            return .success(try await runner.run(request))
        } catch {
            let failure = PkgfetchError.from(error)
            runner.events.emit(task: "fetch-package", since: started, outcome: "failed", error: failure)
            return .failure(failure)
        }
    }
}

extension InstallTarget {
    var mergesIntoDirectory: Bool {
        if case .directory(_, .merge, _) = self { return true }
        return false
    }
}
