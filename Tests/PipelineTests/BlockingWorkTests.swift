import Foundation
import Pipeline
import PipelineTesting
import Testing
import TestSupport

/// Blocking work (here, unpackers that block for a second each) runs on the runner's own threads, so
/// Swift's cooperative pool — two threads on this machine — keeps serving everything else. This suite
/// runs on the cooperative pool itself (no `.offPool`), as a program using the library does.
@Suite struct BlockingWorkTests {
    @Test func unpackingDoesNotStallTheCooperativePool() async throws {
        let dir = try TemporaryDirectory("blocking")
        let blocking = FakeUnpacker(files: ["bin/tool": "x"]) { _ in Thread.sleep(forTimeInterval: 1) }
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()], unpacker: blocking)
        let lateness = try await withThrowingTaskGroup(of: Duration?.self) { group in
            for index in 0..<3 {
                group.addTask {
                    _ = try await runner.run(PackageRequest(url: "x", target: .directory(path: dir.join("d\(index)"), mode: .merge, unpack: true)))
                    return nil
                }
            }
            // Meanwhile, a timer on the cooperative pool: how late does it fire?
            group.addTask {
                var worst: Duration = .zero
                for _ in 0..<10 {
                    let asked = ContinuousClock.now
                    try await Task.sleep(for: .milliseconds(100))
                    worst = max(worst, asked.duration(to: .now) - .milliseconds(100))
                }
                return worst
            }
            var worst: Duration = .zero
            for try await late in group { if let late { worst = late } }
            return worst
        }
        #expect(lateness < .milliseconds(500), "a 100 ms timer fired \(lateness) late while packages unpacked")
        #expect(dir.listing().filter { $0.hasSuffix("bin/tool") }.count == 3)
    }
}
