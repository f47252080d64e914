#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// Where helper executables are looked for: the helpers directory (`--helpers-dir`), then each
/// absolute directory of `PATH` in order. Empty and relative `PATH` entries (which name the current
/// directory, wherever pkgfetch happens to run) are never searched.
public struct HelperCatalog: Sendable {
    /// The directories searched, in order.
    public let directories: [String]

    /// A catalog over `helpersDirectory` (made absolute) and then `searchPath`'s absolute entries.
    public init(helpersDirectory: String?, searchPath: String?) {
        var directories: [String] = []
        if let helpersDirectory, !helpersDirectory.isEmpty {
            directories.append(FileSystem.absolute(helpersDirectory))
        }
        for entry in (searchPath ?? "").split(separator: ":", omittingEmptySubsequences: true) where entry.hasPrefix("/") {
            if !directories.contains(String(entry)) { directories.append(String(entry)) }
        }
        self.directories = directories
    }

    /// The first `pkgfetch-fetch-<scheme>` in the directories that is an executable file, if any.
    public func helper(forScheme scheme: String) -> String? {
        guard Source.isScheme(scheme) else { return nil }
        let name = HelperProtocol.namePrefix + scheme.lowercased()
        return directories.lazy.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Every helper found, by scheme (the first of each name wins), for `pkgfetch plugins`.
    public func all() -> [(scheme: String, path: String)] {
        var found: [String: String] = [:]
        for directory in directories {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(HelperProtocol.namePrefix) {
                let scheme = String(name.dropFirst(HelperProtocol.namePrefix.count))
                let path = "\(directory)/\(name)"
                guard Source.isScheme(scheme), scheme == scheme.lowercased(), found[scheme] == nil,
                      FileManager.default.isExecutableFile(atPath: path) else { continue }
                found[scheme] = path
            }
        }
        return found.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// What to say when no helper for `scheme` exists.
    public func missing(_ scheme: String) -> String {
        "no fetcher for scheme '\(PrintableLine.escaping(scheme))': none is built in, and no \(HelperProtocol.namePrefix)\(PrintableLine.escaping(scheme.lowercased())) is in \(directories.isEmpty ? "any directory (no --helpers-dir, no absolute PATH entry)" : directories.joined(separator: ":"))"
    }
}
