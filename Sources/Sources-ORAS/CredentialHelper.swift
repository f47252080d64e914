import Foundation
import Pipeline

/// A Docker credential helper, `docker-credential-<name> get`: the host on stdin, and
/// `{"ServerURL": …, "Username": …, "Secret": …}` on stdout. A `Username` of `<token>` means the
/// secret is an identity (refresh) token. This is the only process pkgfetch ever starts, and only
/// when a config file names a helper.
public struct CredentialHelperStore: CredentialStore {
    public let name: String
    public let timeout: Duration
    let searchPath: String

    public init(name: String, timeout: Duration = .seconds(30),
                searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") {
        self.name = name
        self.timeout = timeout
        self.searchPath = searchPath
    }

    var program: String { "docker-credential-\(name)" }

    public func credential(for host: String) async throws -> Credential? {
        guard !name.contains("/"), let executable = locate() else {
            throw PkgfetchError(.registryUnauthorized, "credential helper '\(program)' (named in the registry config) is not on PATH")
        }
        let result = try await Self.run(executable, input: Data(host.utf8), timeout: timeout)
        if result.status != 0 {
            // Helpers say "credentials not found" on stdout with a non-zero exit; that is "nothing here".
            if String(decoding: result.stdout, as: UTF8.self).lowercased().contains("credentials not found") { return nil }
            throw PkgfetchError(.registryUnauthorized, "credential helper '\(program)' failed for \(host) (exit status \(result.status))")
        }
        struct Answer: Decodable {
            var Username: String?
            var Secret: String?
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: result.stdout) else {
            throw PkgfetchError(.registryUnauthorized, "credential helper '\(program)' answered for \(host) with something other than its JSON")
        }
        guard let secret = answer.Secret, !secret.isEmpty else { return nil }
        let username = answer.Username ?? ""
        if username == "<token>" { return .identityToken(secret) }
        return .basic(username: username, password: secret)
    }

    private func locate() -> String? {
        for dir in searchPath.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    struct Output: Sendable {
        var status: Int32
        var stdout: Data
    }

    /// Runs the helper on a thread of its own (it blocks), killing it at the timeout.
    static func run(_ executable: String, input: Data, timeout: Duration) async throws -> Output {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Output, any Error>) in
            let thread = Thread {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = ["get"]
                let stdin = Pipe(), stdout = Pipe()
                // The input (a host name) is written before the helper starts, while this process still
                // holds the read end: a helper that exits without reading cannot raise SIGPIPE here.
                stdin.fileHandleForWriting.write(input)
                try? stdin.fileHandleForWriting.close()
                process.standardInput = stdin
                process.standardOutput = stdout
                process.standardError = FileHandle.nullDevice
                // Registered as started by pkgfetch, so the sweep for helpers' orphans leaves it to Foundation.
                do { try StartedChildren.shared.starting { try process.run(); return process.processIdentifier } } catch {
                    continuation.resume(throwing: PkgfetchError(.registryUnauthorized, "cannot run credential helper \(executable)"))
                    return
                }
                let killer = DispatchWorkItem { if process.isRunning { process.terminate() } }
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout.milliseconds)), execute: killer)
                let data = stdout.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                StartedChildren.shared.reaped(process.processIdentifier)
                killer.cancel()
                continuation.resume(returning: Output(status: process.terminationStatus, stdout: data))
            }
            thread.start()
        }
    }
}
