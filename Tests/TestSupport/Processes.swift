import Foundation

/// What a finished process left behind.
public struct ProcessOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs tools the tests depend on. A missing tool is a test failure that says what to install,
/// never a silent skip.
public enum Processes {
    /// Runs `arguments` to completion. `arguments[0]` is looked up on PATH.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil,
                           currentDirectory: String? = nil) throws -> ProcessOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Tools.path(of: arguments[0]))
        process.arguments = Array(arguments.dropFirst())
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty process cannot block on a full pipe.
        let errData = ThreadSafeBox(Data())
        let reader = Thread { errData.value = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return ProcessOutput(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData.value, as: UTF8.self))
    }

    /// Runs and throws unless the exit status is 0.
    @discardableResult
    public static func check(_ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil) throws -> ProcessOutput {
        let output = try run(arguments, environment: environment, stdin: stdin)
        guard output.status == 0 else {
            throw TestSupportError("\(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr.prefix(2000))")
        }
        return output
    }
}

/// Finds the tools real-server tests need.
public enum Tools {
    /// Debian packages that provide each tool, for the failure message.
    static let packages: [String: String] = [
        "nginx": "nginx", "docker-registry": "docker-registry", "skopeo": "skopeo", "bsdtar": "libarchive-tools",
        "htpasswd": "apache2-utils", "openssl": "openssl", "python3": "python3", "unzip": "unzip", "zip": "zip",
        "strace": "strace", "chattr": "e2fsprogs",
    ]

    public static func path(of tool: String) throws -> String {
        if tool.hasPrefix("/") { return tool }
        let search = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/bin"
        for dir in search.split(separator: ":") {
            let candidate = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        let package = packages[tool].map { "apt-get install -y \($0)" } ?? "install '\(tool)'"
        throw TestSupportError("'\(tool)' is not installed: run `make setup` or `\(package)`")
    }

    /// Throws a message naming the missing Python module and how to get it.
    public static func requirePythonModule(_ module: String, pip package: String) throws {
        let output = try Processes.run(["python3", "-c", "import \(module)"])
        guard output.status == 0 else {
            throw TestSupportError("python module '\(module)' is missing: run `make setup` or `pip install \(package)`")
        }
    }
}

public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A value shared between threads in tests.
public final class ThreadSafeBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    public init(_ value: Value) { stored = value }
    public var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
    public func mutate<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&stored) } }
}
