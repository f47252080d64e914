import Foundation
import Testing
import TestSupport

/// Large files over several connections (`--connections`), with the command as users run it: from
/// real nginx whose every connection is capped at 8 MiB/s (so that connections overlap and can be
/// counted in its log) and from a real registry's blobs.
@Suite(.offPool) struct RangedDownloadTests {
    typealias E = ORASEndToEnd

    /// A random file of `size` bytes served at `path` by `nginx`; returns its SHA-256.
    func serve(_ path: String, size: Int, seed: UInt64, by nginx: Nginx) throws -> String {
        try FileManager.default.createDirectory(atPath: (nginx.file(path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Files.writeRandom(nginx.file(path), size: size, seed: seed)
        return try Files.sha256(nginx.file(path))
    }

    @Test func cappedLinkFileComesOverSeveralConnections() throws {
        let work = try TemporaryDirectory("e2e-ranges")
        let cdn = try Nginx(root: work.join("cdn"), pacing: 8 << 20)
        let digest = try serve("/kubernetes/kubernetes-node-linux-amd64.tar.gz", size: 32 << 20, seed: 3, by: cdn)
        let run = try PkgfetchCLI.run(["fetch", cdn.url("/kubernetes/kubernetes-node-linux-amd64.tar.gz"), "--sha256", digest,
                                       "--connections", "4", "--output", work.join("out/k.tgz"), "--events", work.join("events.jsonl")],
                                      environment: LoopbackCLI.environment())
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("out/k.tgz")) == digest)
        // 8 MiB/s a connection: the segments overlap, four at most.
        #expect((3...4).contains(cdn.mostAtOnce()), "\(cdn.accessLog)")
        // The first stream brings 4 MiB (8 MiB/s is plainly capped); seven bounded ranges the other 28:
        // 8, 6, 4, 4, 2, 2 and 2 MiB (runs shrink near the end so the connections finish together).
        #expect(cdn.accessLog.filter { $0.contains("\"bytes=") && $0.contains(" 206 ") }.count == 7, "\(cdn.accessLog)")
        #expect(E.events(work.join("events.jsonl")).contains { $0["task"] as? String == "ranges" })
    }

    /// The two halves of issue 15 together: a tar.gz over several capped connections is unpacked while
    /// its ranges arrive (the unpacker follows the in-order frontier the ranges advance), and installed
    /// byte-exact once verified.
    @Test func rangesFeedAStreamedUnpack() throws {
        let work = try TemporaryDirectory("e2e-ranges-unpack")
        let cdn = try Nginx(root: work.join("cdn"), pacing: 8 << 20)
        let tree = work.join("tree")
        try FileManager.default.createDirectory(atPath: tree + "/bin", withIntermediateDirectories: true)
        for file in 0..<16 { try Files.writeRandom(tree + "/bin/tool-\(file)", size: 2 << 20, seed: UInt64(40 + file)) }
        let path = "/kubernetes/v1.33.9/binaries/kubernetes-node-linux-amd64.tar.gz"
        try FileManager.default.createDirectory(atPath: (cdn.file(path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = try Processes.check(["tar", "-czf", cdn.file(path), "-C", tree, "bin"])
        let run = try PkgfetchCLI.run(["fetch", cdn.url(path), "--sha256", try Files.sha256(cdn.file(path)), "--connections", "4",
                                       "--dest", work.join("node"), "--events", work.join("events.jsonl")],
                                      environment: LoopbackCLI.environment())
        #expect(run.status == 0, "\(run.stderr)")
        for file in 0..<16 {
            #expect(try Files.sha256(work.join("node/bin/tool-\(file)")) == (try Files.sha256(tree + "/bin/tool-\(file)")))
        }
        let events = E.events(work.join("events.jsonl"))
        #expect(events.contains { $0["task"] as? String == "ranges" && ($0["outcome"] as? String)?.hasSuffix("connections") == true })
        #expect((3...4).contains(cdn.mostAtOnce()), "\(cdn.accessLog)")
        // The unpack ran alongside the download (it lasted most of it), and was never started over.
        let fetch = events.first { $0["task"] as? String == "fetch" && $0["outcome"] as? String == "ok" }?["durationMs"] as? Int ?? 0
        let unpacks = events.filter { $0["task"] as? String == "unpack" }
        #expect(unpacks.map { $0["outcome"] as? String } == ["ok"], "\(unpacks)")
        let unpacking = unpacks.first?["durationMs"] as? Int ?? 0
        #expect(fetch > 1000 && unpacking > fetch / 2, "unpack \(unpacking) ms against download \(fetch) ms")
    }

    @Test func batchSharesOneConnectionBudget() throws {
        let work = try TemporaryDirectory("e2e-ranges-batch")
        let cdn = try Nginx(root: work.join("cdn"), pacing: 8 << 20)
        var entries: [[String: Any]] = []
        for index in 1...2 {
            let path = "/kubernetes/v1.33.\(index)/kubernetes-node-linux-amd64.tar.gz"
            let digest = try serve(path, size: 32 << 20, seed: UInt64(10 + index), by: cdn)
            entries.append(["url": cdn.url(path), "output": work.join("out/\(index).tgz"), "sha256": digest])
        }
        try JSONSerialization.data(withJSONObject: entries).write(to: URL(fileURLWithPath: work.join("list.json")))
        let run = try PkgfetchCLI.run(["batch", work.join("list.json"), "--parallel", "2", "--connections", "3"],
                                      environment: LoopbackCLI.environment())
        #expect(run.status == 0, "\(run.stderr)")
        for entry in entries { #expect(try Files.sha256(entry["output"] as! String) == entry["sha256"] as! String) }
        // Two packages at once, each wanting up to three connections: three in all, never more.
        #expect(cdn.mostAtOnce() == 3, "\(cdn.accessLog)")
    }

    /// A connection another package of the batch gives back is taken up by a ranged copy still running.
    @Test func rangedCopyTakesUpConnectionsFreedMeanwhile() throws {
        let work = try TemporaryDirectory("e2e-ranges-grow")
        let cdn = try Nginx(root: work.join("cdn"), pacing: 8 << 20)
        // A small package holds one connection for about 1.5 s; the large one goes parallel after 0.5 s
        // with the two connections left, and runs on for several seconds more.
        let small = "/kubernetes/v1.33.1/kubectl"
        let large = "/kubernetes/v1.33.2/kubernetes-node-linux-amd64.tar.gz"
        let entries: [[String: Any]] = [
            ["url": cdn.url(small), "output": work.join("out/kubectl"), "sha256": try serve(small, size: 12 << 20, seed: 21, by: cdn)],
            ["url": cdn.url(large), "output": work.join("out/node.tgz"), "sha256": try serve(large, size: 64 << 20, seed: 22, by: cdn)],
        ]
        try JSONSerialization.data(withJSONObject: entries).write(to: URL(fileURLWithPath: work.join("list.json")))
        let run = try PkgfetchCLI.run(["batch", work.join("list.json"), "--parallel", "2", "--connections", "4", "--events", work.join("events.jsonl")],
                                      environment: LoopbackCLI.environment())
        #expect(run.status == 0, "\(run.stderr)")
        for entry in entries { #expect(try Files.sha256(entry["output"] as! String) == entry["sha256"] as! String) }
        let ranges = E.events(work.join("events.jsonl")).filter { $0["task"] as? String == "ranges" }.compactMap { $0["outcome"] as? String }
        #expect(ranges == ["3 connections", "4 connections"], "\(ranges)")
        #expect(cdn.mostAtOnce() == 4, "\(cdn.accessLog)")
    }

    @Test func registryBlobComesInRangesAndACorruptBlobIsCaught() throws {
        let work = try TemporaryDirectory("e2e-ranges-oras")
        let registry = try TestRegistry()
        let file = try E.packageFile(size: 32 << 20, seed: 5, in: work)
        try registry.pushWithORAS(file, repository: E.cniRepository, tag: "v1.6.20")
        // The registry behind nginx capping each connection, as blob storage does.
        let front = try Nginx(pacing: 8 << 20, registryPort: registry.port)
        let fetch = { (output: String) in
            try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", "127.0.0.1:\(front.port)", "--connections", "4", "--retries", "0",
                                 "--output", work.join(output), "--events", work.join("\(output).jsonl")],
                                environment: E.environment(home: work.path))
        }
        let good = try fetch("good.zip")
        #expect(good.status == 0, "\(good.stderr)")
        #expect(try Files.sha256(work.join("good.zip")) == (try Files.sha256(file)))
        #expect(E.events(work.join("good.zip.jsonl")).contains { $0["task"] as? String == "ranges" && $0["outcome"] as? String == "4 connections" })

        // Bytes changed at rest in the middle of the blob, where a segment (not the first stream) reads them.
        let data = registry.blobDataPath("sha256:" + (try Files.sha256(file)))
        let handle = try #require(FileHandle(forUpdatingAtPath: data))
        try handle.seek(toOffset: 25 << 20)
        try handle.write(contentsOf: Data(repeating: 0, count: 4096))
        try handle.close()
        let bad = try fetch("bad.zip")
        #expect(bad.status == 50, "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.join("bad.zip")))
        #expect(E.events(work.join("bad.zip.jsonl")).contains { $0["task"] as? String == "ranges" })
    }
}
