#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Pipeline

/// What a helper says it can do, asked with `pkgfetch-fetch-<scheme> --pkgfetch-capabilities`: one
/// JSON object on stdout, `{"protocol": 1, "resume": true, "announces": ["size", "digest"], "options": ["NAME"]}`.
/// Optional: a helper that replies nothing else (or fails) declared nothing, and is fetched with as before.
/// Asked by `pkgfetch conformance`, to choose its checks; never on a fetch.
public struct HelperCapabilities: Sendable, Equatable, Decodable {
    /// The helper protocol's version the helper speaks.
    public var `protocol`: Int?
    /// Whether it honours `PKGFETCH_OFFSET` with `PKGFETCH_VERSION` (a resume).
    public var resume: Bool?
    /// What it announces before the body: `size`, `digest`.
    public var announces: [String]?
    /// The environment variables it reads as options.
    public var options: [String]?

    /// The flag a helper answers with its capabilities.
    public static let flag = "--pkgfetch-capabilities"

    /// As a backend's capabilities.
    public var capabilities: FetcherCapabilities {
        FetcherCapabilities(resumesWithValidator: resume == true, announcesSize: announces?.contains("size") == true)
    }

    /// Runs `executable --pkgfetch-capabilities` with `environment` as pkgfetch runs every process
    /// (`ChildProcess`), for at most `timeout`; nil when it does not exit 0 with one JSON object (64 KiB
    /// read at most) on stdout.
    public static func query(_ executable: String, environment: [String: String], timeout: Duration = .seconds(5)) async -> HelperCapabilities? {
        let deadline = ContinuousClock.now + timeout
        let reply: Data? = try? await BlockingIO.runOnOwnThread(named: "helper-capabilities") {
            guard let stdout = ChildProcess.pipe() else { return nil }
            defer { close(stdout.read) }
            let child: ChildProcess
            do {
                defer { close(stdout.write) }
                child = try ChildProcess(executable: executable, arguments: [flag], environment: environment, descriptors: [-1, stdout.write, -1],
                                         failure: { PkgfetchError(.noSource, "cannot run \(executable): \($0)") })
            }
            var reply = Data()
            var chunk = [UInt8](repeating: 0, count: 16 << 10)
            while reply.count <= 64 << 10 {
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero else { break }
                var descriptor = pollfd(fd: stdout.read, events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptor, 1, Int32(min(left / .milliseconds(1) + 1, 1000)))
                guard ready >= 0 || errno == EINTR else { break }
                guard ready > 0 else { continue }
                let count = chunk.withUnsafeMutableBytes { read(stdout.read, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                reply.append(contentsOf: chunk[0..<count])
            }
            guard let status = child.waitForExit(until: deadline) else {
                child.stop()
                return nil
            }
            return status == 0 ? reply : nil
        }
        return reply.flatMap { try? JSONDecoder().decode(HelperCapabilities.self, from: $0) }
    }
}

extension HelperFetcher {
    /// What the helper replies to `--pkgfetch-capabilities`, run with the environment a fetch gets,
    /// after the same checks of its path; nil when it replies nothing.
    public func capabilities() async -> HelperCapabilities? {
        guard let checked = try? await BlockingIO.shared.run({ [executable] in try HelperSafety.checked(executable) }) else { return nil }
        return await HelperCapabilities.query(checked, environment: environment)
    }
}
