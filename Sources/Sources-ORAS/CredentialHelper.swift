#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// A Docker credential helper, `docker-credential-<name> get`: the host on stdin, and
/// `{"ServerURL": …, "Username": …, "Secret": …}` on stdout. A `Username` of `<token>` means the
/// secret is an identity (refresh) token. Run only when a config file names a helper.
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

    /// The most a helper may write on stdout: a credential is a few KiB.
    static let outputLimit = 1 << 20

    /// Runs the helper the way pkgfetch runs every process (`ChildProcess`: a process group of its
    /// own, no descriptor of pkgfetch's but its pipes, and whatever it leaves behind ended when it
    /// exits), with `input` on stdin, reading its stdout to the end; all within `timeout`, on a
    /// thread of its own. A helper that leaves a background process holding stdout open (`(sleep 1000 &)`
    /// then its answer) is answered as soon as it exits: that process is ended with it.
    static func run(_ executable: String, input: Data, timeout: Duration) async throws -> Output {
        let deadline = ContinuousClock.now + timeout
        return try await BlockingIO.runOnOwnThread(named: "credential-helper") {
            func failure(_ why: String) -> PkgfetchError {
                PkgfetchError(.registryUnauthorized, "cannot run credential helper \(executable): \(why)")
            }
            // A host name: it fits a pipe's buffer, so it is written whole before the helper starts.
            guard input.count <= 4096 else { throw failure("the host name is too long") }
            guard let stdin = ChildProcess.pipe() else { throw failure(String(cString: strerror(errno))) }
            guard let stdout = ChildProcess.pipe() else {
                close(stdin.read)
                close(stdin.write)
                throw failure(String(cString: strerror(errno)))
            }
            defer { close(stdout.read) }
            _ = input.withUnsafeBytes { write(stdin.write, $0.baseAddress, $0.count) }
            close(stdin.write)
            let child: ChildProcess
            do {
                defer { close(stdin.read); close(stdout.write) }
                child = try ChildProcess(executable: executable, arguments: ["get"], environment: ProcessInfo.processInfo.environment,
                                         descriptors: [stdin.read, stdout.write, -1], failure: failure)
            }
            let late = PkgfetchError(.registryUnauthorized, "credential helper \(executable) did not answer within \(timeout)")
            var answer = Data()
            var chunk = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero else {
                    child.stop()
                    throw late
                }
                var descriptor = pollfd(fd: stdout.read, events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptor, 1, Int32(min(left.milliseconds + 1, 1000)))
                if ready < 0, errno != EINTR { throw failure("poll failed: \(String(cString: strerror(errno)))") }
                guard ready > 0 else { continue }
                let count = chunk.withUnsafeMutableBytes { read(stdout.read, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                answer.append(contentsOf: chunk[0..<count])
                if answer.count > Self.outputLimit {
                    child.stop()
                    throw PkgfetchError(.registryUnauthorized, "credential helper \(executable) wrote more than \(Self.outputLimit) bytes")
                }
            }
            guard let status = child.waitForExit(until: deadline) else {
                child.stop()
                throw late
            }
            // The exit status, as a shell reports it (128 + the signal for a death by signal).
            let signal = status & 0x7F
            return Output(status: signal == 0 ? (status >> 8) & 0xFF : 128 + signal, stdout: answer)
        }
    }
}
