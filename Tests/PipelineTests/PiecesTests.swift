import Foundation
import Pipeline
import Testing
import TestSupport

@Suite(.offPool) struct PiecesTests {
    @Test func stagingFileHashesWhatItWritesAndResets() throws {
        let dir = try TemporaryDirectory()
        let file = try StagingFile(path: dir.join("f"))
        let big = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try file.write(Data("discard me".utf8))
        try file.reset()
        try file.write(big.prefix(100))
        try file.write(big.dropFirst(100))
        let (digest, size) = try file.finish()
        #expect(size == Int64(big.count))
        #expect(digest.hex == big.sha256Hex)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.join("f"))) == big)
    }

    @Test func streamedStagingFileKeepsEveryByteItDropsFromTheCache() throws {
        let dir = try TemporaryDirectory()
        let file = try StagingFile(path: dir.join("f"), role: .installed)
        // Past the drop lag (8 MiB) twice over, with a reset in between, and an odd tail.
        try file.write(Data(repeating: 1, count: 12 << 20))
        try file.reset()
        // A period of 1 MiB + 1 so that a block written at the wrong offset changes the bytes.
        let period = Data((0..<(1 << 20) + 1).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        var data = Data()
        for _ in 0..<20 { data.append(period) }
        try file.write(data)
        try file.sync()
        #expect(try file.finish().digest.hex == data.sha256Hex)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.join("f"))) == data)
    }

    @Test func digestParsing() {
        let hex = String(repeating: "ab", count: 32)
        #expect(SHA256Digest(hex)?.hex == hex)
        #expect(SHA256Digest("sha256:" + hex.uppercased())?.description == "sha256:" + hex)
        #expect(SHA256Digest("sha256:abc") == nil)
        #expect(SHA256Digest(String(repeating: "g", count: 64)) == nil)
    }

    @Test func platformParsing() {
        #expect(Platform(parsing: "windows/amd64") == Platform(os: "windows", architecture: "amd64"))
        #expect(Platform(parsing: "linux/arm64/v8") == Platform(os: "linux", architecture: "arm64", variant: "v8"))
        #expect(Platform(parsing: "windows/amd64:10.0.20348.2340")?.osVersion == "10.0.20348.2340")
        #expect(Platform(parsing: "linux") == nil)
        #expect(Platform(parsing: "a/b/c/d") == nil)
        #expect(Platform(parsing: "windows/amd64:") == nil)
    }

    @Test func cacheLookupIsRecursiveAndOrdered() throws {
        let dir = try TemporaryDirectory()
        for path in ["first/deep/er/pkg.zip", "first/x/pkg.zip", "second/pkg.zip", "first/pkg.zip.partial"] {
            try FileManager.default.createDirectory(atPath: (dir.join(path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: dir.join(path), contents: Data(path.utf8))
        }
        #expect(CacheLookup.find("pkg.zip", in: [dir.join("first"), dir.join("second")]) == dir.join("first/x/pkg.zip"))
        #expect(CacheLookup.find("pkg.zip", in: [dir.join("second"), dir.join("first")]) == dir.join("second/pkg.zip"))
        #expect(CacheLookup.find("other.zip", in: [dir.join("first")]) == nil)
        #expect(CacheLookup.find("pkg.zip", in: [dir.join("missing")]) == nil)
    }

    /// Cache names are matched on bytes, with no NSString path method in the walk (they trap on some
    /// one-character non-ASCII names in swift-corelibs-foundation).
    @Test func cacheLookupMatchesNamesAsBytes() throws {
        let dir = try TemporaryDirectory()
        for path in ["cache/\u{E9}", "cache/\u{E9}\u{301}/x", "cache/sub/pkg.zip"] {
            try FileManager.default.createDirectory(atPath: (dir.join(path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: dir.join(path), contents: Data(path.utf8))
        }
        #expect(CacheLookup.find("pkg.zip", in: [dir.join("cache")]) == dir.join("cache/sub/pkg.zip"))
        #expect(CacheLookup.find("\u{E9}", in: [dir.join("cache")]) == dir.join("cache/\u{E9}"))
        #expect(CacheLookup.find("e\u{301}", in: [dir.join("cache")]) == nil, "bytes, not canonical equivalence")
    }

    @Test func cacheHitComesFirstInThePlan() throws {
        let dir = try TemporaryDirectory()
        FileManager.default.createFile(atPath: dir.join("pkg.tar.gz"), contents: Data())
        let runner = makeRunner(sources: [.url("https://cdn/pkg.tar.gz")], fetchers: [:])
        let plan = try runner.plan(for: PackageRequest(url: "x", cacheDirectories: [dir.path], target: .file(path: "/tmp/o")))
        #expect(plan.sources.map(\.scheme) == ["file", "https"])
        #expect(plan.sources[0].location == dir.join("pkg.tar.gz"))
    }

    @Test func redactionDropsQueriesAndUserInfo() {
        #expect(Redaction.url("https://user:pw@host:8443/a/b.zip?sv=1&sig=SECRET#frag") == "https://host:8443/a/b.zip")
        #expect(Redaction.url("myacr.azurecr.io/aks/x:v1") == "myacr.azurecr.io/aks/x:v1")
    }

    @Test func registryAnswersForWhatIsRegisteredAndThrowsOtherwise() throws {
        var plugins = PluginRegistry()
        plugins.register(fetcher: FileFetcher(), forSchemes: "file")
        #expect(plugins.fetcherSchemes == ["file"])
        #expect(throws: PkgfetchError.self) { try plugins.fetcher(forScheme: "oci") }
        #expect((try? plugins.fetcher(forScheme: "FILE")) != nil)
        #expect(throws: PkgfetchError.self) { try plugins.unpacker(for: .zip) }
        #expect(throws: PkgfetchError.self) { try plugins.resolver(named: "cdn") }
    }

    @Test func eventsAreJSONLines() throws {
        let dir = try TemporaryDirectory()
        let sink = try JSONLinesEventSink(path: dir.join("events.jsonl"))
        let emitter = EventEmitter(operationId: "op", sink: sink)
        emitter.emit(task: "fetch", source: .url("https://h/p.zip?sig=secret"), bytes: 5, since: .now, outcome: "failed",
                     error: PkgfetchError(.httpNotFound, "404"), attempt: 1, status: 404)
        emitter.emit(task: "install", outcome: "ok")
        let lines = try String(contentsOfFile: dir.join("events.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["task"] as? String == "fetch")
        #expect(first?["operationId"] as? String == "op")
        #expect(first?["source"] as? String == "https://h/p.zip")
        #expect(first?["bytes"] as? Int == 5)
        #expect(first?["durationMs"] != nil)
        #expect(first?["outcome"] as? String == "failed")
        #expect(first?["error"] as? String == "http-not-found")
        #expect(first?["status"] as? Int == 404)
        #expect(!lines.joined().contains("secret"))
    }
}
