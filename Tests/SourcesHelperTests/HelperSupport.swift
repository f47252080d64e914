import Foundation
import TestSupport

/// Helper executables written by a test, and what they leave behind.
struct TestHelpers {
    /// The directory given as `--helpers-dir`.
    let directory: String
    /// Each helper and each process it starts appends its pid here (the path is written into the
    /// scripts: a helper's environment is pkgfetch's clean one).
    let pidFile: String
    /// Each run appends its PKGFETCH_* variables and its argument here.
    let runLog: String

    init(in work: TemporaryDirectory) throws {
        directory = work.join("helpers")
        pidFile = work.join("pids")
        runLog = work.join("runs")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: pidFile, contents: nil)
        FileManager.default.createFile(atPath: runLog, contents: nil)
    }

    /// Writes `pkgfetch-fetch-<scheme>`: a shell script that records its pid and run, then runs `body`.
    /// `$$` is the helper; a body that starts `spawn_child` leaves a `sleep` in its process group.
    @discardableResult
    func write(_ scheme: String, _ body: String) throws -> String {
        let path = "\(directory)/pkgfetch-fetch-\(scheme)"
        let script = """
        #!/bin/sh
        echo $$ >> \(pidFile)
        echo "attempt=${PKGFETCH_ATTEMPT:-} offset=${PKGFETCH_OFFSET:-} version=${PKGFETCH_VERSION:-} timeout=${PKGFETCH_TIMEOUT:-} arg=$1" >> \(runLog)
        spawn_child() { sleep 300 & echo $! >> \(pidFile); }
        \(body)
        """
        try Data(script.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    /// The recorded runs, one line each.
    var runs: [String] { ((try? String(contentsOfFile: runLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }

    /// Pids recorded by helpers and their children that are still running (a zombie is not running:
    /// it holds no resources; an orphan's is reaped by init, which in a container may never do it).
    /// Polled: the wait is long only when something is left (or the machine is loaded).
    func survivors(waitingUpTo wait: Duration = .seconds(30)) -> [Int32] {
        let pids = ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) }
        let until = ContinuousClock.now + wait
        while true {
            let alive = pids.filter(Self.isRunning)
            if alive.isEmpty || ContinuousClock.now >= until { return alive }
            usleep(50_000)
        }
    }

    /// How many pids were recorded.
    var recordedPids: Int { ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").split(separator: "\n").count }

    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }
}

/// The example helpers shipped in Examples/helpers.
enum ExampleHelpers {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples/helpers").path
    /// The directory of the shell (`sh`) or Python (`python`) example, to pass as `--helpers-dir`.
    static func directory(_ language: String) -> String { "\(root)/\(language)" }
}

/// A webstore:// URL for `path` on `nginx`.
func webstoreURL(_ nginx: Nginx, _ path: String) -> String {
    "webstore://127.0.0.1:\(nginx.port)\(path)"
}
