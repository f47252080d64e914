import Foundation
import Testing
import TestSupport

/// Stopped by a signal, or killed outright: no staging left behind, the destination as it was.
@Suite(.offPool) struct InterruptionTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalMidDownloadRemovesStagingAndExits130(signal: Int32) async throws {
        let work = try TemporaryDirectory("interrupt")
        let server = try FaultServer()
        let body = Data((0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        server.serve("/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz", body: body, faults: [.stall(afterBytes: 1 << 20)])
        try FileManager.default.createDirectory(atPath: work.join("out"), withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: work.join("out/k.tgz")))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try PkgfetchCLI.path)
        process.arguments = ["fetch", server.url("/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz"),
                             "--output", work.join("out/k.tgz"), "--stall-timeout", "60s"]
        process.environment = LoopbackCLI.environment()
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // Wait until the download is under way (a staging directory with bytes in it), then stop it.
        let started = ContinuousClock.now
        while Files.stagingDirectories(in: work.join("out")).isEmpty || server.requests().isEmpty, started.duration(to: .now) < .seconds(90) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!Files.stagingDirectories(in: work.join("out")).isEmpty, "the download never started")
        try await Task.sleep(for: .milliseconds(300))
        kill(process.processIdentifier, signal)
        let stopped = ContinuousClock.now
        // Polled: long only on a loaded machine; the stall limit (60 s) would end it with 40, not 130.
        while process.isRunning, stopped.duration(to: .now) < .seconds(50) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning, "still running 50 s after the signal")
        #expect(process.terminationStatus == 130)
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message.contains("error[interrupted]: stopped by \(signal == SIGINT ? "SIGINT" : "SIGTERM")"), "\(message)")
        #expect(Files.stagingDirectories(in: work.join("out")).isEmpty)
        #expect(try String(contentsOfFile: work.join("out/k.tgz"), encoding: .utf8) == "old")
    }

    /// Gone and unwritten for an hour, ours and private (mode 0700): removed. Alive, nameless, written a
    /// moment ago, another user's, or readable by others (so not made by pkgfetch): kept.
    @Test func stagingLeftByAProcessThatIsGoneIsRemovedByTheNextRun() throws {
        let work = try TemporaryDirectory("abandoned")
        let out = work.join("out")
        // A pid that no longer exists: a process that has already ended.
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let gone = ended.processIdentifier
        let abandoned = ".pkgfetch-staging-\(gone)-0badcafe"
        let alive = ".pkgfetch-staging-\(getpid())-00c0ffee"   // this test process: alive
        let unnamed = ".pkgfetch-staging-1a2b3c4d"               // no pid: not ours to judge
        let recent = ".pkgfetch-staging-\(gone)-0000beef"   // gone, but written just now
        let foreign = ".pkgfetch-staging-\(gone)-0f0e1e2e"  // gone, but another user's directory
        let loose = ".pkgfetch-staging-\(gone)-10051005"    // gone, but mode 0755: pkgfetch makes 0700
        let hourAgo = Date(timeIntervalSinceNow: -3600)
        for name in [abandoned, alive, unnamed, recent, foreign, loose] {
            try FileManager.default.createDirectory(atPath: out + "/" + name, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: name == loose ? 0o755 : 0o700])
            try Files.writeRandom(out + "/" + name + "/source-0", size: 1000)
            if name == foreign { #expect(chown(out + "/" + name, 65534, 65534) == 0) }
            if name != recent {
                for path in [out + "/" + name + "/source-0", out + "/" + name] {
                    try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: path)
                }
            }
        }
        try FileManager.default.createDirectory(atPath: work.join("cache"), withIntermediateDirectories: true)
        try Files.writeRandom(work.join("cache/kubernetes-node-linux-amd64.tar.gz"), size: 10_000)

        let run = try PkgfetchCLI.run(["fetch", CachePathTests.kubernetesURL, "--cache-dir", work.join("cache"), "--output", out + "/k.tgz"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Files.stagingDirectories(in: out) == [alive, unnamed, recent, foreign, loose].sorted())
    }
}
