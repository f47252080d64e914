import Foundation
import TestSupport

/// Running the CLI against loopback servers.
enum LoopbackCLI {
    static let proxyVariables: Set<String> = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                              "ALL_PROXY", "no_proxy", "NO_PROXY"]

    /// This process's environment without proxy settings (a proxy configured on the machine must not
    /// see loopback traffic), plus `extra`.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ProcessInfo.processInfo.environment.filter { !proxyVariables.contains($0.key) }.merging(extra) { $1 }
    }

    /// `pkgfetch fetch ARGS` with that environment; also returns how long it took.
    static func fetch(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> (ProcessOutput, Duration) {
        let environment = environment(extra)
        return try await offPool {
            let started = ContinuousClock.now
            let output = try PkgfetchCLI.run(["fetch"] + arguments, environment: environment)
            return (output, started.duration(to: .now))
        }
    }
}

/// The JSON lines of an `--events` file.
struct EventLines {
    let text: String
    let objects: [[String: Any]]

    init(_ path: String) throws {
        text = try String(contentsOfFile: path, encoding: .utf8)
        objects = text.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    /// Events of one task, in order.
    func task(_ name: String) -> [[String: Any]] { objects.filter { $0["task"] as? String == name } }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
