import Foundation
import Testing
import TestSupport

/// `--progress`: plain lines on stderr when asked, nothing by default under a pipe or with `none`.
@Suite(.offPool) struct ProgressTests {
    func publish() throws -> (String, String) {
        let nginx = try Nginx.shared()
        let name = "progress-\(UUID().uuidString.prefix(8)).zip"
        try Files.writeRandom(nginx.file(name), size: 20 << 20, seed: 61)
        return (nginx.url("/\(name)"), name)
    }

    @Test func plainPrintsLinesOnStderr() async throws {
        let (url, name) = try publish()
        let dir = try TemporaryDirectory("progress")
        let (run, _) = try await LoopbackCLI.fetch([url, "--output", dir.join("pkg.zip"), "--progress", "plain"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0.hasPrefix(name) && $0.contains("/s") })
        #expect(lines.last?.contains("20.0 MiB / 20.0 MiB 100%") == true, "\(run.stderr)")
        #expect(!run.stderr.contains("\r") && !run.stderr.contains("\u{1B}"))
    }

    /// A `//` before a one-character non-ASCII file name (`…//é`) made Foundation's path methods trap:
    /// first in the resolver, then in the progress label (found by fuzzing). Fetched and labelled now.
    @Test func aDoubleSlashBeforeANonASCIINameIsFetchedWithItsLabel() async throws {
        let nginx = try Nginx.shared()
        let folder = "progress-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: nginx.file(folder), withIntermediateDirectories: true)
        try Files.writeRandom(nginx.file(folder + "/\u{E9}"), size: 1 << 20, seed: 62)
        let dir = try TemporaryDirectory("progress-name")
        let (run, _) = try await LoopbackCLI.fetch([nginx.url("/\(folder)//\u{E9}"), "--output", dir.join("pkg"), "--progress", "plain"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").last?.hasPrefix("\u{E9} ") == true, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("pkg")) == (try Files.sha256(nginx.file(folder + "/\u{E9}"))))
    }

    @Test(arguments: [["--progress", "none"], ["--progress", "auto"], []])
    func nothingUnderAPipeOrWithNone(flags: [String]) async throws {
        let (url, _) = try publish()
        let dir = try TemporaryDirectory("progress")
        let (run, _) = try await LoopbackCLI.fetch([url, "--output", dir.join("pkg.zip")] + flags)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.isEmpty, "\(run.stderr)")
    }

    /// The lines drawn in place in `text`: what follows each `\r ESC[K`, up to a newline.
    static func drawn(_ text: String) -> [String] {
        text.components(separatedBy: "\r\u{1B}[K").dropFirst().map { String($0.prefix { $0 != "\n" && $0 != "\r" }) }.filter { !$0.isEmpty }
    }

    /// Under Ctrl-C, the progress line is ended before the error is printed, and with COLUMNS=50 (stderr
    /// is a pipe, so no window size) every redraw fits 49 columns (issue 24, item 3).
    @Test func ctrlCEndsTheProgressLineAndEveryRedrawFitsTheWidth() async throws {
        // nginx's /slow/ sends 1 MB/s: redraws happen (one every 200 ms), and the run is still going.
        let nginx = try Nginx.shared()
        let name = "azure-vnet-cni-linux-amd64-v1.6.20-\(UUID().uuidString.prefix(8))-with-a-long-build-suffix.tgz"
        try Files.writeRandom(nginx.file(name), size: 8 << 20, seed: 63)
        let dir = try TemporaryDirectory("progress-interrupt")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try PkgfetchCLI.path)
        process.arguments = ["fetch", nginx.url("/slow/\(name)"), "--output", dir.join("pkg.tgz"), "--progress", "terminal"]
        process.environment = LoopbackCLI.environment(["COLUMNS": "50"])
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // Read as it is drawn: the signal goes once two redraws have shown bytes, however long a loaded
        // machine takes to get there; the rest of the 8 s transfer leaves time for it to land mid-download.
        let said = ThreadSafeBox(Data())
        let reader = Thread {
            while true {
                let chunk = stderr.fileHandleForReading.availableData
                if chunk.isEmpty { return }
                said.mutate { $0.append(chunk) }
            }
        }
        reader.start()
        let started = ContinuousClock.now
        while Self.drawn(String(decoding: said.value, as: UTF8.self)).filter({ $0.contains(" MiB / 8.0 MiB ") }).count < 2,
              process.isRunning, started.duration(to: .now) < .seconds(60) {
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGINT)
        let stopped = ContinuousClock.now
        while process.isRunning || !reader.isFinished, stopped.duration(to: .now) < .seconds(50) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(process.terminationStatus == 130)
        let text = String(decoding: said.value, as: UTF8.self)
        let lines = Self.drawn(text)
        #expect(lines.count >= 2, "\(text.debugDescription)")
        for line in lines { #expect(line.unicodeScalars.reduce(0) { $0 + ($1.isASCII ? 1 : 2) } <= 49, "\(line)") }
        #expect(lines.last?.hasPrefix("azu") == true && lines.last?.contains(" MiB / 8.0 MiB ") == true, "\(text.debugDescription)")
        // The last redraw, then a newline, then the error on a line of its own.
        let tail = text.components(separatedBy: "\r\u{1B}[K").last ?? ""
        #expect(tail.hasSuffix("\npkgfetch: error[interrupted]: stopped by SIGINT; nothing half-written was left\n"), "\(text.debugDescription)")
    }

    /// `batch` on a terminal (a pseudo-terminal from script(1)) draws one total line, cut to COLUMNS;
    /// with --quiet, or in a pipe, nothing (issue 24, item 2).
    @Test func batchDrawsATotalLineOnATerminalOnly() async throws {
        let nginx = try Nginx.shared()
        let dir = try TemporaryDirectory("progress-batch")
        var entries: [[String: Any]] = []
        for index in 0..<3 {
            let name = "progress-batch-\(UUID().uuidString.prefix(8))-\(index).zip"
            try Files.writeRandom(nginx.file(name), size: 5 << 20, seed: UInt64(70 + index))
            entries.append(["url": nginx.url("/\(name)"), "output": dir.join("p\(index).zip")])
        }
        let list = dir.join("list.json")
        try JSONSerialization.data(withJSONObject: entries).write(to: URL(fileURLWithPath: list))
        let binary = try PkgfetchCLI.path
        let environment = LoopbackCLI.environment(["COLUMNS": "50"])
        func onTerminal(_ flags: String) async throws -> ProcessOutput {
            try await offPool { try Processes.run(["script", "-qefc", "\(binary) batch \(list) \(flags)", "/dev/null"], environment: environment) }
        }
        let run = try await onTerminal("")
        #expect(run.status == 0, "\(run.stdout)")
        // The result lines (stdout, the same terminal) each come after the total line is cleared.
        let lines = Self.drawn(run.stdout).filter { !$0.hasPrefix("installed ") }
        #expect(lines.last?.hasPrefix("3/3 done 15.0 MiB / 15.0 MiB 100%") == true, "\(run.stdout.debugDescription)")
        for line in lines { #expect(line.count <= 49, "\(line)") }
        #expect(run.stdout.components(separatedBy: "installed ").count == 4, "\(run.stdout)")
        let quiet = try await onTerminal("--quiet")
        #expect(quiet.status == 0 && !quiet.stdout.contains("done"), "\(quiet.stdout.debugDescription)")
        let piped = try await offPool { try PkgfetchCLI.run(["batch", list], environment: environment) }
        #expect(piped.status == 0 && piped.stderr.isEmpty, "\(piped.stderr)")
    }
}
