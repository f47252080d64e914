import Foundation
import Testing
import TestSupport

/// Shared pieces of the CLI-level ORAS tests.
enum ORASEndToEnd {
    static let cniURL = "https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip"
    static let cniFile = "azure-vnet-cni-windows-amd64-v1.6.20.zip"
    static let cniRepository = "aks/packages/azure/azure-vnet-cni"

    /// A controlled environment for pkgfetch: a HOME without a Docker config, the real PATH
    /// unless one is given, nothing else inherited.
    static func environment(home: String, path: String? = nil, extra: [String: String] = [:]) -> [String: String] {
        var environment = ["HOME": home, "PATH": path ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        environment.merge(extra) { $1 }
        return environment
    }

    /// A random package file named `name` in a directory of its own (so `oras push` titles it `name`).
    static func packageFile(_ name: String = cniFile, size: Int = 2 << 20, seed: UInt64, in work: TemporaryDirectory) throws -> String {
        let folder = work.join("push-\(seed)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Files.writeRandom(folder + "/" + name, size: size, seed: seed)
        return folder + "/" + name
    }

    /// The JSON lines of an `--events` file.
    static func events(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }
}
