import Foundation
import Pipeline
import PipelineTesting
import Synchronization
import Testing
import TestSupport

/// Blocking work (here, unpackers that block) runs on the runner's own threads (`BlockingIO`), so
/// Swift's cooperative pool — two threads on this machine — keeps serving everything else. Checked by
/// where the work ran, not by a timer: the suite runs beside others that load the machine.
@Suite struct BlockingWorkTests {
    @Test func unpackingRunsOnTheBlockingIOThreads() async throws {
        let dir = try TemporaryDirectory("blocking")
        let threads = Mutex<[String]>([])
        let blocking = FakeUnpacker(files: ["bin/tool": "x"]) { _ in
            threads.withLock { $0.append(Thread.current.name ?? "unnamed") }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: ["https": ScriptedFetcher()], unpacker: blocking)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<3 {
                group.addTask {
                    _ = try await runner.run(PackageRequest(url: "x", target: .directory(path: dir.join("d\(index)"), mode: .merge, unpack: true)))
                }
            }
            try await group.waitForAll()
        }
        let names = threads.withLock { $0 }
        #expect(names.count == 3)
        #expect(names.allSatisfy { $0.hasPrefix("pkgfetch-blocking-io") }, "unpackers ran on \(names)")
        #expect(dir.listing().filter { $0.hasSuffix("bin/tool") }.count == 3)
    }
}
