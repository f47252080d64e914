import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Loopback ports and long-running server processes for tests.
public enum Ports {
    /// A port on 127.0.0.1 that was free a moment ago (bind to 0, read, close).
    public static func free() throws -> Int {
        let (fd, port) = try LoopbackSocket.listen()
        close(fd)
        return port
    }

    /// Waits until something accepts TCP connections on 127.0.0.1:port.
    public static func waitUntilListening(_ port: Int, timeout: Duration = .seconds(20), process: Process? = nil) throws {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if let process, !process.isRunning {
                throw TestSupportError("server exited with status \(process.terminationStatus) before listening on \(port)")
            }
            if canConnect(port) { return }
            usleep(20_000)
        }
        throw TestSupportError("nothing listened on 127.0.0.1:\(port) within \(timeout)")
    }

    public static func canConnect(_ port: Int) -> Bool {
        guard let fd = LoopbackSocket.connect(port: port) else { return false }
        close(fd)
        return true
    }
}

/// A server process that lives as long as this object (or until `stop()`), with its output in a log file.
public final class BackgroundProcess: @unchecked Sendable {
    public let process: Process
    public let logPath: String

    public init(_ arguments: [String], logPath: String, environment: [String: String]? = nil) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: try Tools.path(of: arguments[0]))
        process.arguments = Array(arguments.dropFirst())
        if let environment { process.environment = environment }
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        self.logPath = logPath
        try process.run()
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let end = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < end { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit { stop() }
}
