import Foundation
import Testing
import TestSupport

/// A run killed with SIGKILL mid-download leaves its partial file, with a record of the source and
/// version it is of; the next run continues it from the staged bytes when the source is still that
/// version (a Range from the staged offset, with If-Range), and fetches it whole when it changed: never
/// two versions spliced.
@Suite(.offPool, .serialized) struct ResumeAcrossRunsTests {
    static let size = 96 << 20

    /// A paced nginx (so a download lasts a few seconds) serving `big.bin` of random bytes.
    struct Scene {
        let work: TemporaryDirectory
        let server: Nginx
        var output: String { work.join("out/big.bin") }
        var url: String { server.url("/big.bin") }

        init() throws {
            work = try TemporaryDirectory("resume-runs")
            try FileManager.default.createDirectory(atPath: work.join("out"), withIntermediateDirectories: true)
            server = try Nginx(pacing: 12_000_000)
            try Self.writeRandom(to: server.file("big.bin"))
        }

        static func writeRandom(to path: String) throws {
            let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
            defer { try? random.close() }
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? file.close() }
            for _ in 0..<(ResumeAcrossRunsTests.size >> 20) { try file.write(contentsOf: try random.read(upToCount: 1 << 20) ?? Data()) }
        }

        var arguments: [String] { ["fetch", url, "--output", output, "--progress", "none"] }

        func killedMidDownload() throws -> Int {
            try ResumeAcrossRunsTests.killedMidDownload(arguments, environment: LoopbackCLI.environment(), out: work.join("out"))
        }

        /// Request lines nginx logged after the first `skipping`.
        func requests(after skipping: Int) -> [String] { Array(server.accessLog.dropFirst(skipping)) }
    }

    /// The bytes staged so far by a running pkgfetch (its staging file in `out`): the file's size, or
    /// the in-order prefix its resume record names once a ranged copy placed bytes ahead of it.
    static func stagedBytes(in out: String) -> Int {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [] where entry.hasPrefix(".pkgfetch-staging-") {
            let file = out + "/" + entry + "/source-0"
            guard let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int else { continue }
            let record = (try? String(contentsOfFile: file + ".resume", encoding: .utf8)) ?? ""
            let prefix = record.split(separator: "\n").first { $0.hasPrefix("staged ") }.flatMap { Int($0.dropFirst(7)) }
            return min(size, prefix ?? size)
        }
        return 0
    }

    /// Starts pkgfetch with `arguments` and kills it with SIGKILL once its staging file in `out` holds
    /// more than 40% of the file; returns the bytes it had staged then.
    static func killedMidDownload(_ arguments: [String], environment: [String: String], out: String) throws -> Int {
        func stagedBytes() -> Int { Self.stagedBytes(in: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try PkgfetchCLI.path)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let start = ContinuousClock.now
        while process.isRunning, stagedBytes() * 10 < ResumeAcrossRunsTests.size * 4, start.duration(to: .now) < .seconds(120) {
            usleep(5_000)
        }
        let running = process.isRunning
        if running { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(running, "pkgfetch ended before it was killed")
        return stagedBytes()
    }

    /// The first byte a logged `"bytes=N-…"` range asks for.
    static func rangeStart(_ line: String) -> Int? {
        guard let range = line.range(of: "\"bytes=") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    @Test func killedDownloadContinuesFromStagedBytes() async throws {
        let scene = try Scene()
        let staged = try scene.killedMidDownload()
        #expect(staged * 10 >= Self.size * 4)
        let logged = scene.server.accessLog.count
        let (run, _) = try await LoopbackCLI.fetch(Array(scene.arguments.dropFirst()))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(scene.output) == Files.sha256(scene.server.file("big.bin")))
        let second = scene.requests(after: logged)
        // The first request of the second run asks from where the killed run's bytes end (or later: a
        // copy over several connections may have staged more since that look).
        let first = try #require(second.first, "the second run made no request")
        let start = try #require(Self.rangeStart(first), "the second run asked without a Range: \(first)")
        #expect(start >= staged && start < Self.size, "\(first)")
        #expect(first.contains(" 206 "), "\(first)")
        #expect(!second.contains { $0.contains(" 200 ") }, "\(second)")
        print("resume across runs: killed at \(staged) of \(Self.size) bytes staged; the second run asked from \(start): \(second)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scene.work.join("out")) == ["big.bin"])
    }

    @Test func changedSourceIsFetchedWholeNotSpliced() async throws {
        let scene = try Scene()
        _ = try scene.killedMidDownload()
        // New content of the same size, and a new modification time (so a new ETag).
        let path = scene.server.file("big.bin")
        try Scene.writeRandom(to: path)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(3600)], ofItemAtPath: path)
        let logged = scene.server.accessLog.count
        let (run, _) = try await LoopbackCLI.fetch(Array(scene.arguments.dropFirst()))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(scene.output) == Files.sha256(path))
        let second = scene.requests(after: logged)
        // The resume is asked with If-Range, which the new version answers with the whole file.
        let first = try #require(second.first, "the second run made no request")
        #expect(first.contains(" 200 "), "\(second)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scene.work.join("out")) == ["big.bin"])
    }

    @Test func killedRegistryPullContinuesFromStagedBytes() async throws {
        let work = try TemporaryDirectory("resume-runs-oras")
        try FileManager.default.createDirectory(atPath: work.join("out"), withIntermediateDirectories: true)
        let registry = try TestRegistry()
        let file = try ORASEndToEnd.packageFile(size: Self.size, seed: 7, in: work)
        try registry.pushWithORAS(file, repository: ORASEndToEnd.cniRepository, tag: "v1.6.20")
        // The registry behind a paced nginx, so the pull lasts long enough to be killed halfway.
        let front = try Nginx(pacing: 12_000_000, registryPort: registry.port)
        let output = work.join("out/cni.zip")
        let arguments = ["fetch", ORASEndToEnd.cniURL, "--bootstrap-registry", "127.0.0.1:\(front.port)", "--output", output,
                         "--progress", "none"]
        let environment = ORASEndToEnd.environment(home: work.path)
        let staged = try Self.killedMidDownload(arguments, environment: environment, out: work.join("out"))
        #expect(staged * 10 >= Self.size * 4)
        let logged = front.accessLog.count
        let run = try PkgfetchCLI.run(arguments, environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(output) == Files.sha256(file))
        let blobs = front.accessLog.dropFirst(logged).filter { $0.contains("/blobs/sha256:") }
        // The blob is asked from where the killed run's bytes end, never from 0.
        let first = try #require(blobs.first, "the second run asked for no blob")
        let start = try #require(Self.rangeStart(first), "the second run asked without a Range: \(first)")
        #expect(start >= staged && start < Self.size, "\(first)")
        print("resume across runs (registry): killed at \(staged) of \(Self.size) bytes staged; the second run asked from \(start)")
    }

    @Test func killedDownloadOfAnArchiveContinuesAndUnpacks() async throws {
        let scene = try Scene()
        // A tar.gz of the random file: incompressible, so about as large, and unpacked as it arrives.
        try FileManager.default.createDirectory(atPath: scene.work.join("tree"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: scene.server.file("big.bin"), toPath: scene.work.join("tree/big.bin"))
        try Processes.check(["tar", "-czf", scene.server.file("big.tgz"), "-C", scene.work.join("tree"), "big.bin"])
        let arguments = ["fetch", scene.server.url("/big.tgz"), "--dest", scene.work.join("out/opt"), "--progress", "none"]
        let staged = try Self.killedMidDownload(arguments, environment: LoopbackCLI.environment(), out: scene.work.join("out"))
        let logged = scene.server.accessLog.count
        let run = try PkgfetchCLI.run(arguments, environment: LoopbackCLI.environment())
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(scene.work.join("out/opt/big.bin")) == Files.sha256(scene.work.join("tree/big.bin")))
        let first = try #require(scene.requests(after: logged).first, "the second run made no request")
        let start = try #require(Self.rangeStart(first), "the second run asked without a Range: \(first)")
        #expect(start >= staged, "\(first)")
    }
}
