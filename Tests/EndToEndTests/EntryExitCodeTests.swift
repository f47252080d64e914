import Foundation
import Testing
import TestSupport

/// A package's own exit code: `exitCode` in a batch list, `--exit-code NAME=CODE` for components.
@Suite(.offPool) struct EntryExitCodeTests {
    @Test func theFirstFailedBatchEntryExitsWithItsOwnCode() throws {
        let work = try TemporaryDirectory("e2e-exit-code-batch")
        let cdn = try Nginx(root: work.join("cdn"))
        try FileManager.default.createDirectory(atPath: cdn.file("/p"), withIntermediateDirectories: true)
        try Files.writeRandom(cdn.file("/p/ok.bin"), size: 10_000)
        let list: [[String: Any]] = [
            ["url": cdn.url("/p/ok.bin"), "output": work.join("out/ok.bin")],
            ["url": cdn.url("/p/missing-1.bin"), "output": work.join("out/1.bin"), "exitCode": 45],
            ["url": cdn.url("/p/missing-2.bin"), "output": work.join("out/2.bin"), "exitCode": 46],
        ]
        try JSONSerialization.data(withJSONObject: list).write(to: URL(fileURLWithPath: work.join("list.json")))
        let run = try PkgfetchCLI.run(["batch", work.join("list.json"), "--retries", "0", "--json"], environment: LoopbackCLI.environment())
        #expect(run.status == 45, "\(run.stderr)")
        #expect(run.stderr.contains("error[http-not-found]"), "the line still names the kind: \(run.stderr)")
        #expect(run.stdout.contains("\"exitCode\":46"), "\(run.stdout)")

        for bad in [0, 256] {
            let invalid: [[String: Any]] = [["url": cdn.url("/p/ok.bin"), "output": work.join("out/x.bin"), "exitCode": bad]]
            try JSONSerialization.data(withJSONObject: invalid).write(to: URL(fileURLWithPath: work.join("bad.json")))
            let refused = try PkgfetchCLI.run(["batch", work.join("bad.json")], environment: LoopbackCLI.environment())
            #expect(refused.status == 2)
            #expect(refused.stderr.contains("\"exitCode\" must be from 1 to 255"), "\(refused.stderr)")
        }
    }

    @Test func aComponentsPackageExitsWithItsOwnCode() throws {
        let work = try TemporaryDirectory("e2e-exit-code-components")
        let json = """
        {"Packages": [
          {"name": "fine", "downloadLocation": "/opt/fine", "downloadURIs": {"default": {"current": {"versionsV2": [{"latestVersion": "<SKIP>"}]}}}},
          {"name": "shell", "downloadLocation": "/opt/shell",
           "downloadURIs": {"default": {"current": {"versionsV2": [{"latestVersion": "1"}], "downloadURL": "https://h.test/`id`/${version}"}}}}
        ]}
        """
        try Data(json.utf8).write(to: URL(fileURLWithPath: work.join("components.json")))
        func run(_ extra: [String]) throws -> ProcessOutput {
            try PkgfetchCLI.run(["components", work.join("components.json"), "--os", "ubuntu", "--release", "22.04", "--root", work.join("root")] + extra,
                                environment: LoopbackCLI.environment())
        }
        #expect(try run([]).status == 10)
        let chosen = try run(["--exit-code", "shell=112", "--json"])
        #expect(chosen.status == 112, "\(chosen.stderr)")
        #expect(chosen.stdout.contains("\"exitCode\":112"), "\(chosen.stdout)")
        let unknown = try run(["--exit-code", "nope=3"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("--exit-code nope"), "\(unknown.stderr)")
        #expect(try run(["--exit-code", "shell=0"]).status == 2)
    }
}
