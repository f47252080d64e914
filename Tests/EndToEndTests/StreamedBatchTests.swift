import Foundation
import Testing
import TestSupport

/// A batch of tar.gz packages over a slow link (real nginx at 1 MB/s per connection), each unpacked
/// while it downloads: more packages at once than `BlockingIO` has threads, so an unpack that waited
/// for its download on one of those threads would leave none for the downloads' writes.
@Suite(.offPool) struct StreamedBatchTests {
    @Test func aBatchOfStreamedUnpacksOverlapsItsDownloadsAndDoesNotDeadlock() async throws {
        let work = try TemporaryDirectory("e2e-streamed-batch")
        let cdn = try Nginx(root: work.join("cdn"))
        let packages = 6
        var entries: [[String: Any]] = []
        for index in 0..<packages {
            let tree = work.join("tree-\(index)")
            try FileManager.default.createDirectory(atPath: tree + "/bin", withIntermediateDirectories: true)
            for file in 0..<8 { try Files.writeRandom(tree + "/bin/tool-\(file)", size: 200_000, seed: UInt64(index * 100 + file)) }
            let name = "/kubernetes/v1.33.\(index)/binaries/kubernetes-node-linux-amd64.tar.gz"
            try FileManager.default.createDirectory(atPath: (cdn.file(name) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = try Processes.check(["tar", "-czf", cdn.file(name), "-C", tree, "bin"])
            entries.append(["url": cdn.url("/slow" + name), "dest": work.join("node-\(index)"), "sha256": try Files.sha256(cdn.file(name))])
        }
        try JSONSerialization.data(withJSONObject: entries).write(to: URL(fileURLWithPath: work.join("list.json")))

        // `timeout`: a deadlock fails the test instead of hanging it.
        let started = ContinuousClock.now
        let arguments = ["timeout", "120", try PkgfetchCLI.path, "batch", work.join("list.json"), "--parallel", "\(packages)",
                         "--events", work.join("events.jsonl")]
        let environment = LoopbackCLI.environment()
        let batch = Task { try await offPool { try Processes.run(arguments, environment: environment) } }
        // Meanwhile, in staging: a file unpacked whole while the archive it came from is still arriving.
        var seenAhead = Set<String>()
        // And downloads side by side: the most archives seen arriving at one moment.
        var mostArrivingAtOnce = 0
        while seenAhead.count < packages, started.duration(to: .now) < .seconds(30) {
            var arriving = 0
            for staging in Files.stagingDirectories(in: work.path) {
                let directory = work.join(staging)
                let arrived = (try? FileManager.default.attributesOfItem(atPath: directory + "/source-0"))?[.size] as? Int
                if let arrived, arrived > 0, arrived < 1_200_000 { arriving += 1 }
                guard !seenAhead.contains(staging) else { continue }
                let unpacked = ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/tree/bin")) ?? []).filter {
                    (try? FileManager.default.attributesOfItem(atPath: directory + "/tree/bin/" + $0))?[.size] as? Int == 200_000
                }
                // The archives are about 1.6 MB (random data does not compress).
                if !unpacked.isEmpty, let arrived, arrived < 1_200_000 { seenAhead.insert(staging) }
            }
            mostArrivingAtOnce = max(mostArrivingAtOnce, arriving)
            usleep(2000)
        }
        let run = try await batch.value
        #expect(run.status == 0, "\(run.stderr)")
        for index in 0..<packages {
            for file in 0..<8 {
                #expect(try Files.sha256(work.join("node-\(index)/bin/tool-\(file)")) == (try Files.sha256(work.join("tree-\(index)/bin/tool-\(file)"))))
            }
        }
        #expect(seenAhead.count == packages, "files unpacked while their archive was arriving, in \(seenAhead.count) of \(packages) stagings")
        // And by the events: each unpack lasted (from its start to its result) most of the download,
        // where unpacking 1.6 MB alone takes a few milliseconds.
        let events = try EventLines(work.join("events.jsonl"))
        let fetches = Dictionary(uniqueKeysWithValues: events.task("fetch").compactMap { event in
            (event["operationId"] as? String).map { ($0, event["durationMs"] as? Int ?? 0) }
        })
        // The downloads ran side by side, seen in staging rather than timed against the whole run's
        // wall clock (a loaded machine stretches start-up and unpacking, not the capped link).
        #expect(mostArrivingAtOnce >= 2, "at most \(mostArrivingAtOnce) archive arriving at once")
        let unpacks = events.task("unpack").filter { $0["outcome"] as? String == "ok" }
        #expect(unpacks.count == packages)
        for unpack in unpacks {
            let fetch = fetches[unpack["operationId"] as? String ?? ""] ?? 0
            let unpacking = unpack["durationMs"] as? Int ?? 0
            #expect(fetch > 1000 && unpacking > fetch / 2, "unpack \(unpacking) ms against download \(fetch) ms")
        }
    }
}
