import Foundation
import Testing

/// A failure of the test's own machinery (a tool missing or failing), with a message that says what to do.
struct TestSetupError: Error, CustomStringConvertible {
    let description: String
}

/// External programs the tests build archives with. A missing one fails the test and names the
/// package to install; it never turns into a silent skip.
enum Tool {
    static func bsdtar() throws -> String { try find("bsdtar", install: "apt-get install libarchive-tools") }
    static func python3() throws -> String { try find("python3", install: "apt-get install python3") }

    static func find(_ name: String, install: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestSetupError(description: "\(name) is not installed; these tests need it: \(install)")
    }

    /// Runs a program to completion and returns its stdout; throws with its stderr when it fails.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], in directory: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        // Files, not pipes: nothing to drain while the program runs, whatever it prints.
        let scratch = try TemporaryDirectory()
        let outputPath = try scratch.path("stdout")
        let errorPath = try scratch.path("stderr")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        try output.close()
        try errors.close()
        let stdout = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            let stderr = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            throw TestSetupError(description: "\((executable as NSString).lastPathComponent) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(stderr)\(stdout)")
        }
        return stdout
    }
}

/// A fresh directory under the system's temporary directory, removed with everything in it when the
/// value goes away.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("pkgfetch-unpack-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside; with `create`, an (empty) directory there.
    func path(_ relative: String, create: Bool = false) throws -> String {
        let full = (path as NSString).appendingPathComponent(relative)
        if create { try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true) }
        return full
    }

    deinit {
        // Unpacked directories may be read-only; make them writable so they can be removed.
        if let walker = FileManager.default.enumerator(atPath: path) {
            for case let relative as String in walker {
                let full = (path as NSString).appendingPathComponent(relative)
                var info = stat()
                if lstat(full, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { chmod(full, 0o700) }
            }
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}
