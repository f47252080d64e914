import Foundation
import Testing
import TestSupport

/// Helper executables through the `pkgfetch` command: the example helpers (shell and Python) against
/// nginx on loopback, and helpers that misbehave. Every test also checks that no helper process, nor
/// any process a helper started, outlives the command.
@Suite(.offPool) struct HelperCommandTests {
    /// A package on nginx: a tar.gz of `bin/tool`, under a directory of its own.
    struct Published {
        let nginx: Nginx
        let path: String
        let archive: Data
        var url: String { webstoreURL(nginx, path) }
        var sha256: String { archive.sha256Hex }
    }

    static func publishTool(_ work: TemporaryDirectory) throws -> Published {
        let nginx = try Nginx.shared()
        try FileManager.default.createDirectory(atPath: work.join("tree/bin"), withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho tool\n".utf8).write(to: URL(fileURLWithPath: work.join("tree/bin/tool")))
        _ = try Processes.check(["tar", "-czf", work.join("tool.tar.gz"), "-C", work.join("tree"), "bin"])
        let archive = try Data(contentsOf: URL(fileURLWithPath: work.join("tool.tar.gz")))
        let directory = "helpers-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: nginx.file(directory), withIntermediateDirectories: true)
        try archive.write(to: URL(fileURLWithPath: nginx.file("\(directory)/tool.tar.gz")))
        return Published(nginx: nginx, path: "/\(directory)/tool.tar.gz", archive: archive)
    }

    static func pkgfetch(_ arguments: [String], environment extra: [String: String] = [:]) throws -> (ProcessOutput, Duration) {
        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { $1 }
        let started = ContinuousClock.now
        let output = try PkgfetchCLI.run(arguments, environment: environment)
        return (output, started.duration(to: .now))
    }

    /// The minimal contract end to end, with each example helper: --sha256 and --dest (unpacked), then
    /// --output; a missing object exits with the not-found code a download gets (21).
    @Test(arguments: ["sh", "python"])
    func exampleHelperFetchesUnpacksAndSaves(_ language: String) throws {
        let work = try TemporaryDirectory("helper-\(language)")
        let package = try Self.publishTool(work)
        let helpers = ["--helpers-dir", ExampleHelpers.directory(language)]
        let (unpacked, _) = try Self.pkgfetch(["fetch", package.url, "--dest", work.join("opt"), "--sha256", package.sha256] + helpers)
        #expect(unpacked.status == 0, "\(unpacked.stderr)")
        #expect(try String(contentsOfFile: work.join("opt/bin/tool"), encoding: .utf8) == "#!/bin/sh\necho tool\n")

        let (saved, _) = try Self.pkgfetch(["fetch", package.url, "--output", work.join("saved.tgz"), "--json"] + helpers)
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: work.join("saved.tgz"))) == package.archive)
        #expect(saved.stdout.contains("\"webstore\""), "\(saved.stdout)")

        let (wrongDigest, _) = try Self.pkgfetch(["fetch", package.url, "--output", work.join("bad.tgz"), "--retries", "0",
                                                  "--sha256", String(repeating: "0", count: 64)] + helpers)
        #expect(wrongDigest.status == 50, "\(wrongDigest.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.join("bad.tgz")))

        let (missing, _) = try Self.pkgfetch(["fetch", webstoreURL(package.nginx, "/nothing/here.tgz?sig=s3cr3t"), "--output", work.join("none"),
                                              "--retries", "0"] + helpers)
        #expect(missing.status == 21, "\(missing.stderr)")
        #expect(!missing.stderr.contains("s3cr3t"), "a signed URL's query stays out of messages: \(missing.stderr)")
        // The helper's failures carry its own family name (its scheme's), with a download's code.
        #expect(missing.stderr.contains("error[webstore-not-found]: pkgfetch-fetch-webstore failed (exit 66): no object at webstore://"), "\(missing.stderr)")
    }

    /// The minimal helper — it writes the bytes and exits 0, and knows nothing of descriptor 3 or the
    /// PKGFETCH_* variables — works end to end: --sha256 with --dest (unpacked), --output, a batch.
    @Test func theMinimalHelperWorksEndToEnd() throws {
        let work = try TemporaryDirectory("helper-minimal")
        let package = try Self.publishTool(work)
        let helpers = try TestHelpers(in: work)
        try helpers.write("minimal", "exec cat \(package.nginx.file(package.path))")
        let url = "minimal://anything/tool.tar.gz"
        let common = ["--helpers-dir", helpers.directory]
        let (unpacked, _) = try Self.pkgfetch(["fetch", url, "--dest", work.join("opt"), "--sha256", package.sha256] + common)
        #expect(unpacked.status == 0, "\(unpacked.stderr)")
        #expect(FileManager.default.fileExists(atPath: work.join("opt/bin/tool")))
        let (saved, _) = try Self.pkgfetch(["fetch", url, "--output", work.join("saved.tgz")] + common)
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: work.join("saved.tgz"))) == package.archive)

        let list: [[String: String]] = [["url": url, "dest": work.join("b1"), "sha256": package.sha256],
                                        ["url": url, "output": work.join("b2.tgz")]]
        try JSONSerialization.data(withJSONObject: list).write(to: URL(fileURLWithPath: work.join("list")))
        let (batch, _) = try Self.pkgfetch(["batch", work.join("list")] + common)
        #expect(batch.status == 0, "\(batch.stderr)")
        #expect(FileManager.default.fileExists(atPath: work.join("b1/bin/tool")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: work.join("b2.tgz"))) == package.archive)
        #expect(helpers.runs.count == 4)
        #expect(helpers.survivors().isEmpty)
    }

    /// A batch mixes a helper's scheme and http: one process, each package installed.
    @Test func batchFetchesThroughAHelper() throws {
        let work = try TemporaryDirectory("helper-batch")
        let package = try Self.publishTool(work)
        let list: [[String: String]] = [
            ["url": package.url, "dest": work.join("a"), "sha256": package.sha256],
            ["url": package.nginx.url(package.path), "output": work.join("b.tgz")],
            ["url": package.url, "output": work.join("c.tgz")],
        ]
        try JSONSerialization.data(withJSONObject: list).write(to: URL(fileURLWithPath: work.join("list")))
        let (run, _) = try Self.pkgfetch(["batch", work.join("list"), "--helpers-dir", ExampleHelpers.directory("sh")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: work.join("a/bin/tool")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: work.join("b.tgz"))) == package.archive)
        #expect(try Data(contentsOf: URL(fileURLWithPath: work.join("c.tgz"))) == package.archive)
    }

    /// A helper cut part-way that announced a version is asked for the rest: PKGFETCH_OFFSET and
    /// PKGFETCH_VERSION say where and of what, and it answers from there (`offset` in its announcement).
    @Test func aCutHelperIsResumedFromItsOffset() throws {
        let work = try TemporaryDirectory("helper-resume")
        let helpers = try TestHelpers(in: work)
        try Files.writeRandom(work.join("content"), size: 3 << 20)
        let content = work.join("content")
        try helpers.write("resumable", """
        size=$(stat -c %s \(content))
        offset=${PKGFETCH_OFFSET:-0}
        if [ "$offset" -gt 0 ] && [ "${PKGFETCH_VERSION:-}" = v1 ]; then start=$offset; else start=0; fi
        printf '{"offset": %s, "size": %s, "version": "v1"}\\n' "$start" "$size" >&3
        if [ "$start" -eq 0 ]; then
            head -c 1048576 \(content)
            echo "connection reset by the store" >&2
            exit 75
        fi
        tail -c +$((start + 1)) \(content)
        """)
        let (run, _) = try Self.pkgfetch(["fetch", "resumable://bucket/pkg.bin", "--output", work.join("out.bin"), "--retries", "0",
                                          "--sha256", try Files.sha256(content), "--helpers-dir", helpers.directory])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("out.bin")) == (try Files.sha256(content)))
        let runs = helpers.runs
        #expect(runs.count == 2, "\(runs)")
        #expect(runs.last?.contains("offset=1048576 version=v1") == true, "\(runs)")
        #expect(helpers.survivors().isEmpty)
    }

    /// A helper that hangs — before it writes anything, or part-way — ends as a timeout (exit 40) at
    /// the attempt's --timeout, and its whole process group with it.
    @Test(.alone, arguments: [false, true])
    func aHangingHelperEndsAtTheTimeout(afterSomeBytes: Bool) throws {
        let work = try TemporaryDirectory("helper-hang")
        let helpers = try TestHelpers(in: work)
        try helpers.write("hang", """
        spawn_child
        \(afterSomeBytes ? "head -c 100000 /dev/zero" : "")
        sleep 300
        """)
        let (run, took) = try Self.pkgfetch(["fetch", "hang://bucket/pkg.bin", "--output", work.join("out"), "--timeout", "2s",
                                             "--retries", "0", "--helpers-dir", helpers.directory])
        #expect(run.status == 40, "\(run.stderr)")
        // At the 2 s timeout, not at the helper's end (300 s): room for a loaded machine.
        #expect(took < .seconds(60), "took \(took)")
        #expect(helpers.recordedPids == 2)
        #expect(helpers.survivors().isEmpty, "left running: \(helpers.survivors())")
        #expect(!FileManager.default.fileExists(atPath: work.join("out")))
        #expect(run.stderr.split(separator: "\n").last?.hasPrefix("pkgfetch: error[network-timeout]: ") == true, "\(run.stderr)")
    }

    /// One that writes far more than --max-size, announcing nothing, is stopped there (exit 50); one
    /// that writes more than it announced is refused (50); one that announced more than it wrote was
    /// cut, and fails once retries are spent. The runaway is bounded (64 MiB, --timeout) so that a
    /// broken limit fails this test instead of filling the disk.
    @Test func runawayAndLyingHelpersAreStopped() throws {
        let work = try TemporaryDirectory("helper-runaway")
        let helpers = try TestHelpers(in: work)
        try helpers.write("forever", "spawn_child\nexec head -c 67108864 /dev/zero")
        try helpers.write("saysless", "printf '{\"size\": 1000}\\n' >&3\nhead -c 5000 /dev/zero")
        try helpers.write("saysmore", "printf '{\"size\": 5000}\\n' >&3\nhead -c 1000 /dev/zero")
        let common = ["--retries", "0", "--helpers-dir", helpers.directory]

        let (forever, took) = try Self.pkgfetch(["fetch", "forever://b/x.bin", "--output", work.join("a"), "--max-size", "4M",
                                                 "--timeout", "60s"] + common)
        #expect(forever.status == 50, "\(forever.stderr)")
        #expect(forever.stderr.contains("--max-size"), "\(forever.stderr)")
        #expect(took < .seconds(45), "stopped at the size limit, not at the 60 s timeout: took \(took)")

        let (less, _) = try Self.pkgfetch(["fetch", "saysless://b/x.bin", "--output", work.join("b")] + common)
        #expect(less.status == 50, "\(less.stderr)")

        let (more, _) = try Self.pkgfetch(["fetch", "saysmore://b/x.bin", "--output", work.join("c")] + common)
        #expect(more.status == 20, "\(more.stderr)")
        #expect(more.stderr.contains("ended after 1000 of 5000 bytes"), "\(more.stderr)")

        for file in ["a", "b", "c"] { #expect(!FileManager.default.fileExists(atPath: work.join(file))) }
        #expect(helpers.survivors().isEmpty, "left running: \(helpers.survivors())")
    }

    /// A failing helper's last stderr line is the error; its other lines are passed on, prefixed; its
    /// exit status picks the reason (77: unauthorized, not retried; 75: tried again).
    @Test func aFailingHelperSaysWhy() throws {
        let work = try TemporaryDirectory("helper-fail")
        let helpers = try TestHelpers(in: work)
        try helpers.write("denied", "echo 'looking up the bucket' >&2\necho 'bucket policy denies node-7' >&2\nexit 77")
        try helpers.write("later", "echo 'store is busy' >&2\nexit 75")
        let (denied, _) = try Self.pkgfetch(["fetch", "denied://b/x.bin", "--output", work.join("x"), "--retries", "3",
                                             "--retry-delay", "10ms", "--helpers-dir", helpers.directory])
        #expect(denied.status == 20, "\(denied.stderr)")
        let lines = denied.stderr.split(separator: "\n")
        #expect(lines.contains("pkgfetch-fetch-denied: looking up the bucket"), "\(denied.stderr)")
        #expect(lines.last == "pkgfetch: error[denied-unauthorized]: pkgfetch-fetch-denied failed (exit 77): bucket policy denies node-7",
                "\(denied.stderr)")
        #expect(helpers.runs.count == 1)

        let (later, _) = try Self.pkgfetch(["fetch", "later://b/x.bin", "--output", work.join("y"), "--retries", "2",
                                            "--retry-delay", "10ms", "--helpers-dir", helpers.directory, "--quiet"])
        #expect(later.status == 20, "\(later.stderr)")
        #expect(helpers.runs.count == 4, "one run for denied, three for later: \(helpers.runs)")
        #expect(!later.stderr.contains("pkgfetch-fetch-later: store"), "--quiet passes no helper lines on")
        #expect(later.stderr.contains("store is busy"))
    }

    /// No helper: one line naming what was looked for, exit 11. A helper in the current directory is not
    /// found through a relative or empty PATH entry.
    @Test func aMissingHelperIsOneClearLine() throws {
        let work = try TemporaryDirectory("helper-missing")
        let helpers = try TestHelpers(in: work)
        try helpers.write("planted", "echo planted")
        let (run, _) = try Self.pkgfetch(["fetch", "nosuch://b/x.bin", "--output", work.join("x"), "--helpers-dir", helpers.directory])
        #expect(run.status == 11, "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(run.stderr.contains("no pkgfetch-fetch-nosuch is in \(helpers.directory):"), "\(run.stderr)")

        let relative = try Processes.run([try PkgfetchCLI.path, "fetch", "planted://b/x.bin", "--output", work.join("y")],
                                         environment: ["PATH": ".::helpers:/usr/bin:/bin"], currentDirectory: work.path)
        #expect(relative.status == 11, "\(relative.stderr)")
        #expect(relative.stderr.contains("no pkgfetch-fetch-planted is in /usr/bin:/bin"), "\(relative.stderr)")
        #expect(helpers.runs.isEmpty)
    }

    /// As root, a helper in a directory others can write is refused, with one line and exit 11, and never run.
    @Test func asRootAHelperOthersCouldHavePlantedIsRefused() throws {
        try #require(geteuid() == 0, "this check is about root: run the tests as root (as CI does)")
        let work = try TemporaryDirectory("helper-unsafe")
        let helpers = try TestHelpers(in: work)
        try helpers.write("planted", "echo planted")
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: helpers.directory)
        let (run, _) = try Self.pkgfetch(["fetch", "planted://b/x.bin", "--output", work.join("x"), "--helpers-dir", helpers.directory])
        #expect(run.status == 11, "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(run.stderr.contains("error[no-source]: refusing to run helper \(helpers.directory)/pkgfetch-fetch-planted: its directory \(helpers.directory) is writable by others (mode 777); as root"), "\(run.stderr)")
        #expect(helpers.runs.isEmpty)

        // The same helper, writable by others itself, in a directory only root writes.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: helpers.directory)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: "\(helpers.directory)/pkgfetch-fetch-planted")
        let (file, _) = try Self.pkgfetch(["fetch", "planted://b/x.bin", "--output", work.join("x"), "--helpers-dir", helpers.directory])
        #expect(file.status == 11, "\(file.stderr)")
        #expect(file.stderr.contains("is writable by others (mode 777)"), "\(file.stderr)")
        #expect(helpers.runs.isEmpty)

        // A symlink in a safe directory to a helper in an unsafe one: what is checked is what would run.
        let unsafe = work.join("unsafe")
        try FileManager.default.createDirectory(atPath: unsafe, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: unsafe)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(helpers.directory)/pkgfetch-fetch-planted")
        try FileManager.default.moveItem(atPath: "\(helpers.directory)/pkgfetch-fetch-planted", toPath: "\(unsafe)/pkgfetch-fetch-planted")
        try FileManager.default.createSymbolicLink(atPath: "\(helpers.directory)/pkgfetch-fetch-planted",
                                                   withDestinationPath: "\(unsafe)/pkgfetch-fetch-planted")
        let (linked, _) = try Self.pkgfetch(["fetch", "planted://b/x.bin", "--output", work.join("x"), "--helpers-dir", helpers.directory])
        #expect(linked.status == 11, "\(linked.stderr)")
        #expect(linked.stderr.contains("its directory \(unsafe) is writable by others (mode 777)"), "\(linked.stderr)")
        #expect(helpers.runs.isEmpty)
    }

    /// A helper gets a clean environment: none of pkgfetch's variables but the few documented, and
    /// those named with --helper-env.
    @Test func aHelperGetsACleanEnvironment() throws {
        let work = try TemporaryDirectory("helper-env")
        let helpers = try TestHelpers(in: work)
        try helpers.write("env", "env > \(work.join("env"))\nprintf x")
        let (run, _) = try Self.pkgfetch(["fetch", "env://b/x.bin", "--output", work.join("x"), "--helper-env", "STORE_PROFILE",
                                          "--helpers-dir", helpers.directory],
                                         environment: ["AZURE_CLIENT_SECRET": "s3cr3t-value", "STORE_PROFILE": "nodes", "HOME": "/root"])
        #expect(run.status == 0, "\(run.stderr)")
        let environment = try String(contentsOfFile: work.join("env"), encoding: .utf8)
        #expect(!environment.contains("s3cr3t-value"))
        #expect(environment.contains("STORE_PROFILE=nodes"))
        #expect(environment.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"))
        #expect(environment.contains("PKGFETCH_TIMEOUT="))
        #expect(environment.contains("PKGFETCH_FILE_NAME=x.bin"))

        for name in ["PATH", "PKGFETCH_OFFSET", "A=B"] {
            let (refused, _) = try Self.pkgfetch(["fetch", "env://b/x.bin", "--output", work.join("y"), "--helper-env", name])
            #expect(refused.status == 2, "\(refused.stderr)")
            #expect(refused.stderr.contains("--helper-env"), "\(refused.stderr)")
        }
    }

    /// A rules file routes a URL family to a helper's scheme first and the CDN URL second: `resolve`
    /// shows both; when the helper has no such object the CDN URL delivers.
    @Test func aRuleRoutesAFamilyToAHelperThenTheCDN() throws {
        let work = try TemporaryDirectory("helper-rules")
        let package = try Self.publishTool(work)
        let rules = """
        [{"name": "tools-via-store", "path": "/(?<dir>helpers-[^/]+)/(?<package>tool)\\\\.tar\\\\.gz",
          "sources": ["webstore://127.0.0.1:\(package.nginx.port)/elsewhere/{package}/{file}", "{url}"]}]
        """
        try Data(rules.utf8).write(to: URL(fileURLWithPath: work.join("rules.json")))
        let cdn = package.nginx.url(package.path)
        let (plan, _) = try Self.pkgfetch(["resolve", cdn, "--rules", work.join("rules.json")])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("1. webstore: webstore://127.0.0.1:\(package.nginx.port)/elsewhere/tool/tool.tar.gz"), "\(plan.stdout)")
        #expect(plan.stdout.contains("2. http: \(cdn)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("rule:      tools-via-store"))

        let (run, _) = try Self.pkgfetch(["fetch", cdn, "--rules", work.join("rules.json"), "--output", work.join("t.tgz"), "--json",
                                          "--retries", "0", "--helpers-dir", ExampleHelpers.directory("sh")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("pkgfetch-fetch-webstore: no object at webstore://"), "the helper was tried first: \(run.stderr)")
        #expect(run.stdout.contains("\"http\""), "\(run.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: work.join("t.tgz"))) == package.archive)
    }

    /// `plugins` lists the helpers found, with their paths; a helper for a built-in scheme is not listed.
    @Test func pluginsListsHelpers() throws {
        let work = try TemporaryDirectory("helper-plugins")
        let helpers = try TestHelpers(in: work)
        try helpers.write("mystore", "exit 0")
        try helpers.write("https", "exit 0")
        let (run, _) = try Self.pkgfetch(["plugins", "--helpers-dir", helpers.directory])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("  mystore    \(helpers.directory)/pkgfetch-fetch-mystore"), "\(run.stdout)")
        #expect(!run.stdout.contains("pkgfetch-fetch-https"))
    }

    /// SIGTERM or SIGHUP to pkgfetch while a helper hangs: the helper's group is not pkgfetch's, so
    /// pkgfetch ends it.
    @Test(arguments: [SIGTERM, SIGHUP])
    func aSignalToPkgfetchEndsItsHelpers(_ signal: Int32) throws {
        let work = try TemporaryDirectory("helper-signal")
        let helpers = try TestHelpers(in: work)
        try helpers.write("hang", "spawn_child\nsleep 300")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try PkgfetchCLI.path)
        process.arguments = ["fetch", "hang://b/x.bin", "--output", work.join("x"), "--helpers-dir", helpers.directory]
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        // Polls, so a long limit costs nothing when all is well; CI saw the debug binary and its helper
        // take over 10 s to start while every suite started at once.
        let until = ContinuousClock.now + .seconds(90)
        while helpers.recordedPids < 2, ContinuousClock.now < until { usleep(20_000) }
        try #require(helpers.recordedPids == 2, "the helper and its child did not start within 90 s")
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        // One line, the handler's: not also the failure of the fetch whose helper the handler killed.
        let said = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let name = signal == SIGTERM ? "SIGTERM" : "SIGHUP"
        #expect(said.split(separator: "\n").filter { $0.hasPrefix("pkgfetch: error") } == ["pkgfetch: error[interrupted]: stopped by \(name); nothing half-written was left"],
                "\(said)")
        #expect(helpers.survivors().isEmpty, "left running: \(helpers.survivors())")
    }
}
