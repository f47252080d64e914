import Foundation
import Testing
import TestSupport

/// `--agent-events-dir DIR`: each step as one JSON file where the Azure guest agent reads the node
/// scripts' events, written atomically, and never a reason for a fetch to fail.
@Suite(.offPool) struct AgentEventsTests {
    typealias E = ORASEndToEnd

    /// The files of an events directory, in name (= time) order, parsed.
    struct AgentEvents {
        let names: [String]
        let records: [[String: Any]]

        init(_ directory: String) throws {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            records = try names.filter { $0.hasSuffix(".json") }.map { name in
                let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
                return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(name)")
            }
        }

        var taskNames: [String] { records.compactMap { $0["TaskName"] as? String } }

        /// The `Message` of each event of one task, parsed.
        func messages(_ task: String) -> [[String: Any]] {
            records.filter { $0["TaskName"] as? String == "AKS.CSE.pkgfetch." + task }.compactMap {
                ($0["Message"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            }
        }
    }

    static let fields: Set<String> = ["Timestamp", "OperationId", "Version", "TaskName", "EventLevel", "Message", "EventPid", "EventTid"]

    @Test func aRegistryPullWritesOneAgentFilePerStepBesideTheEventLines() throws {
        let work = try TemporaryDirectory("agent-events")
        let registry = try TestRegistry()
        let file = try E.packageFile(seed: 31, in: work)
        try registry.pushWithORAS(file, repository: E.cniRepository, tag: "v1.6.20")
        let directory = work.join("var/log/azure/events")   // made by pkgfetch, as the scripts' mkdir -p

        let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--output", work.join("out/cni.zip"),
                                       "--events", work.join("events.jsonl"), "--agent-events-dir", directory],
                                      environment: E.environment(home: work.path))
        #expect(run.status == 0, "\(run.stderr)")
        let events = try AgentEvents(directory)
        // Only final names: epoch milliseconds (13 digits today), no temporary file left behind.
        #expect(events.names.allSatisfy { $0.wholeMatch(of: /[0-9]{13}\.json/) != nil }, "\(events.names)")
        #expect(events.taskNames == ["AKS.CSE.pkgfetch.resolve", "AKS.CSE.pkgfetch.ociManifest", "AKS.CSE.pkgfetch.fetch",
                                     "AKS.CSE.pkgfetch.install"])
        #expect(events.records.count == E.events(work.join("events.jsonl")).count, "every event reaches both sinks")
        for record in events.records {
            #expect(Set(record.keys) == Self.fields)
            #expect(record.values.allSatisfy { $0 is String }, "the agent wants strings: \(record)")
            #expect(record["EventLevel"] as? String == "Informational")
            #expect((record["Timestamp"] as? String)?.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}/) != nil)
            #expect(Int(record["EventPid"] as? String ?? "") ?? 0 > 0)
        }
        #expect(Set(events.records.compactMap { $0["OperationId"] as? String }).count == 1)
        let fetch = try #require(events.messages("fetch").first)
        #expect(fetch["package"] as? String == "azure-vnet-cni")
        #expect(fetch["version"] as? String == "v1.6.20")
        #expect(fetch["sourceKind"] as? String == "registry")
        #expect(fetch["bytes"] as? Int == 2 << 20)
        #expect(fetch["outcome"] as? String == "ok")
        #expect(fetch["durationMs"] is Int)
        #expect(fetch["error"] == nil && fetch["exitCode"] == nil)
    }

    /// `--events /dev/stderr` (a pipe here, as under a supervisor): the lines arrive there; the sink
    /// once seeked to the end and crashed on anything that cannot seek.
    @Test func eventLinesGoToAPipe() throws {
        let work = try TemporaryDirectory("events-pipe")
        try FileManager.default.createDirectory(atPath: work.join("cache"), withIntermediateDirectories: true)
        try Files.writeRandom(work.join("cache/kubernetes-node-linux-amd64.tar.gz"), size: 10_000, seed: 33)
        let run = try PkgfetchCLI.run(["fetch", CachePathTests.kubernetesURL, "--cache-dir", work.join("cache"),
                                       "--output", work.join("out/k.tar.gz"), "--events", "/dev/stderr"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stderr.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(lines.contains { $0["task"] as? String == "fetch" && $0["outcome"] as? String == "ok" }, "\(run.stderr)")
        #expect(lines.contains { $0["task"] as? String == "install" }, "\(run.stderr)")
    }

    @Test func aCacheHitAndACDNFailureSayWhereFromAndHowItEnded() async throws {
        let work = try TemporaryDirectory("agent-events-kinds")
        try FileManager.default.createDirectory(atPath: work.join("cache"), withIntermediateDirectories: true)
        try Files.writeRandom(work.join("cache/kubernetes-node-linux-amd64.tar.gz"), size: 70_000, seed: 32)
        let cached = try PkgfetchCLI.run(["fetch", CachePathTests.kubernetesURL, "--cache-dir", work.join("cache"),
                                          "--output", work.join("out/k.tar.gz"), "--agent-events-dir", work.join("cached")])
        #expect(cached.status == 0, "\(cached.stderr)")
        let fetch = try #require(try AgentEvents(work.join("cached")).messages("fetch").first)
        #expect(fetch["sourceKind"] as? String == "cache")
        #expect(fetch["package"] as? String == "kubernetes-node" && fetch["version"] as? String == "v1.33.7")
        #expect(fetch["bytes"] as? Int == 70_000)

        let nginx = try Nginx.shared()
        let (run, _) = try await LoopbackCLI.fetch([nginx.url("/absent/tool-1.2.tgz"), "--output", work.join("out/tool.tgz"),
                                                    "--agent-events-dir", work.join("failed")])
        #expect(run.status == 21, "\(run.stderr)")
        let failed = try AgentEvents(work.join("failed"))
        #expect(failed.taskNames == ["AKS.CSE.pkgfetch.resolve", "AKS.CSE.pkgfetch.fetch", "AKS.CSE.pkgfetch.fetchPackage"])
        #expect(failed.records.last?["EventLevel"] as? String == "Error")
        for message in failed.messages("fetch") + failed.messages("fetchPackage") {
            #expect(message["outcome"] as? String == "failed")
            #expect(message["error"] as? String == "http-not-found")
            #expect(message["exitCode"] as? Int == 21)
            #expect(message["package"] as? String == "tool-1.2")
        }
        #expect(failed.messages("fetch").first?["sourceKind"] as? String == "cdn")
        #expect(failed.messages("fetch").first?["status"] as? Int == 404)
    }

    /// A read-only file system, a path below a regular file, a full file system: the package is
    /// installed all the same (exit 0), the problem is said once, and no temporary file is left.
    @Test(arguments: ["read-only", "not-a-directory", "full"])
    func anEventsDirectoryThatCannotBeWrittenNeverFailsTheDownload(case name: String) async throws {
        let work = try TemporaryDirectory("agent-events-\(name)")
        var mounted: DiskFullTests.SmallFileSystem?
        let directory: String
        switch name {
        case "read-only":
            mounted = try DiskFullTests.SmallFileSystem(work.join("ro"), size: "1m", readOnly: true)
            directory = work.join("ro")
        case "not-a-directory":
            try Data("x".utf8).write(to: URL(fileURLWithPath: work.join("file")))
            directory = work.join("file/events")
        default:
            mounted = try DiskFullTests.SmallFileSystem(work.join("full"), size: "64k")
            directory = work.join("full")
            _ = try Processes.run(["dd", "if=/dev/zero", "of=\(directory)/filler", "bs=4096"])   // ends with ENOSPC
        }
        let before = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let (_, url, digest) = try NginxDownloadTests.publish("tool-linux-amd64.tgz", size: 300_000, seed: 33)
        let (run, _) = try await LoopbackCLI.fetch([url, "--output", work.join("out/tool.tgz"), "--agent-events-dir", directory])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("out/tool.tgz")) == digest)
        let warnings = run.stderr.split(separator: "\n").filter { $0.contains("--agent-events-dir") }
        #expect(warnings.count == 1, "said once: \(run.stderr)")
        // The one warning style (issue 24, item 10): no timestamp, no module label.
        #expect(warnings.first?.hasPrefix("pkgfetch: warning: ") == true && !run.stderr.contains("[PkgfetchCommand]"), "\(run.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []) == before, "nothing left behind")
        withExtendedLifetime(mounted) {}
    }
}
