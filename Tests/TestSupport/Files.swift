import Crypto
import Foundation

/// A directory under /tmp removed when the object goes away.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "test") throws {
        path = NSTemporaryDirectory() + "pkgfetch-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func join(_ relative: String) -> String { (path as NSString).appendingPathComponent(relative) }

    /// Entries below the directory, relative, sorted.
    public func listing() -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? []).sorted()
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

public enum Files {
    /// The pkgfetch staging directories directly in `directory`, sorted.
    public static func stagingDirectories(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(".pkgfetch-staging") }.sorted()
    }

    /// Writes `size` pseudo-random bytes (deterministic for a seed) to `path`, in blocks.
    public static func writeRandom(_ path: String, size: Int, seed: UInt64 = 1) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw TestSupportError("cannot write \(path)") }
        defer { try? handle.close() }
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var remaining = size
        var block = [UInt64](repeating: 0, count: 1 << 17)
        while remaining > 0 {
            for index in block.indices {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                block[index] = state
            }
            let count = min(remaining, block.count * 8)
            block.withUnsafeBytes { handle.write(Data($0.prefix(count))) }
            remaining -= count
        }
    }

    /// SHA-256 of a file, hex.
    public static func sha256(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw TestSupportError("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// The `pkgfetch` binary built beside the test bundle, run as a user would.
public enum PkgfetchCLI {
    public static var path: String {
        get throws {
            let bundleDir = (CommandLine.arguments[0] as NSString).deletingLastPathComponent
            var candidates = [bundleDir + "/pkgfetch", bundleDir + "/../pkgfetch"]
            if let products = Bundle.main.executableURL?.deletingLastPathComponent().path { candidates.append(products + "/pkgfetch") }
            let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
            candidates.append(packageRoot + "/.build/debug/pkgfetch")
            if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
            throw TestSupportError("pkgfetch binary not found next to the tests (looked in \(candidates)); run `swift build` first")
        }
    }

    /// Runs `pkgfetch ARGS`.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil) throws -> ProcessOutput {
        try Processes.run([try path] + arguments, environment: environment, stdin: stdin)
    }
}

extension Data {
    /// SHA-256 of the bytes, hex.
    public var sha256Hex: String { SHA256.hash(data: self).map { String(format: "%02x", $0) }.joined() }
}
