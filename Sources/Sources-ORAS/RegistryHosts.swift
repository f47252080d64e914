#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP
#if canImport(Glibc)
import Glibc
#endif

/// The hosts a registry's content is fetched from, in the order they are tried, read from a hosts
/// directory laid out as containerd's (`/etc/containerd/certs.d` by default): for a registry
/// `host:port` the first of `host_port_/`, `host:port/`, `_default/` that exists holds its
/// `hosts.toml` (or, without one, Docker's `*.crt`/`*.cert`/`*.key` files for the registry itself).
/// Without a directory, or with none of them, the registry alone is the list. Each registry's list is
/// read once per process.
public final class RegistryHosts: @unchecked Sendable {
    /// Where containerd looks, and so where an operator's mirrors are already written down.
    public static let defaultDirectory = "/etc/containerd/certs.d"

    /// The hosts directory; nil when hosts.toml files are not read.
    public let directory: String?
    /// The scheme for the registry itself when no `server` names one.
    public let schemes: RegistrySchemePolicy
    // Guarded by lock: filled from concurrent pulls.
    private let lock = Lock()
    private var known: [String: [RegistryHost]] = [:]

    public init(directory: String?, schemes: RegistrySchemePolicy = RegistrySchemePolicy()) {
        self.directory = directory.flatMap { $0.isEmpty ? nil : $0 }
        self.schemes = schemes
    }

    /// The directories looked at for `namespace`, in containerd's order (Unix).
    public static func candidates(root: String, namespace: String) -> [String] {
        var names: [String] = []
        if let colon = namespace.lastIndex(of: ":"), colon > namespace.startIndex {
            names.append("\(namespace[..<colon])_\(namespace[namespace.index(after: colon)...])_")
        }
        names += [namespace, "_default"]
        return names.map { "\(root)/\($0)" }
    }

    /// The hosts for `namespace`, read on a blocking-I/O thread the first time.
    public func hosts(for namespace: String) async throws -> [RegistryHost] {
        if let known = lock.withLock({ known[namespace] }) { return known }
        return try await BlockingIO.shared.run { try self.load(namespace) }
    }

    /// The hosts for `namespace`, read now if not yet (blocking): for `resolve` and for checking a
    /// file up front, before anything is fetched.
    public func load(_ namespace: String) throws -> [RegistryHost] {
        if let known = lock.withLock({ known[namespace] }) { return known }
        let hosts = try readHosts(namespace)
        lock.withLock { known[namespace] = hosts }
        return hosts
    }

    private func readHosts(_ namespace: String) throws -> [RegistryHost] {
        guard let directory, let chosen = try Self.existingDirectory(Self.candidates(root: directory, namespace: namespace)) else {
            return hosts(from: HostsFile(certificateFiles: [], directory: ""), namespace: namespace)
        }
        let file = chosen + "/hosts.toml"
        let parsed: HostsFile
        do {
            if let bytes = try Self.readConfiguration(file) {
                parsed = try HostsFile(parsing: bytes, directory: chosen)
            } else {
                parsed = HostsFile(certificateFiles: (try? FileManager.default.contentsOfDirectory(atPath: chosen)) ?? [], directory: chosen)
            }
        } catch {
            throw Self.refusal(file, error)
        }
        // An unreadable CA or client certificate fails now, by name, rather than as a TLS error later.
        for entry in parsed.entries {
            for path in entry.tls.caFiles + entry.tls.clientPairs.flatMap({ [$0.certificate, $0.key] }) where !path.isEmpty {
                guard access(path, R_OK) == 0 else { throw Self.refusal(file, "cannot read \(PrintableLine.escaping(path))") }
            }
        }
        return hosts(from: parsed, namespace: namespace)
    }

    /// The hosts `bytes` (a hosts.toml in `directory`) name for `namespace`, in order; a refusal is
    /// one `usage` error naming `file`. What `make fuzz` runs on arbitrary bytes.
    public func hosts(parsing bytes: [UInt8], file: String, namespace: String) throws -> [RegistryHost] {
        do {
            return hosts(from: try HostsFile(parsing: bytes, directory: LexicalPath(file).parent.string), namespace: namespace)
        } catch {
            throw Self.refusal(file, error)
        }
    }

    static func refusal(_ file: String, _ why: Any) -> PkgfetchError {
        PkgfetchError(.usage, "hosts file \(PrintableLine.escaping(file)): \(why)")
    }

    /// The file's entries as hosts: an entry without a URL (no `server`) is the registry itself.
    func hosts(from file: HostsFile, namespace: String) -> [RegistryHost] {
        file.entries.map { entry in
            guard let host = entry.host, let scheme = entry.scheme else {
                return RegistryHost(scheme: schemes.scheme(for: namespace), host: DockerHub.apiHost(for: namespace),
                                    path: "/v2", capabilities: entry.capabilities, headers: entry.headers, tls: entry.tls,
                                    dialTimeout: entry.dialTimeout, namespace: namespace)
            }
            return RegistryHost(scheme: scheme, host: host, path: entry.path, capabilities: entry.capabilities, headers: entry.headers,
                                tls: entry.tls, dialTimeout: entry.dialTimeout, namespace: namespace)
        }
    }

    /// The first of `paths` that exists; a path that exists but is not a directory, or cannot be
    /// looked at, is an error rather than silently skipped (containerd does the same).
    static func existingDirectory(_ paths: [String]) throws -> String? {
        for path in paths {
            var info = stat()
            if stat(path, &info) != 0 {
                if errno == ENOENT { continue }
                throw PkgfetchError(.usage, "hosts directory \(PrintableLine.escaping(path)): \(String(cString: strerror(errno)))")
            }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw PkgfetchError(.usage, "hosts directory \(PrintableLine.escaping(path)) is not a directory")
            }
            return path
        }
        return nil
    }

    /// The bytes of a regular file of at most `HostsTOML.maxSize` bytes; nil when it does not exist.
    /// Opened without blocking (a FIFO planted there does not hang the run) and checked to be a file.
    static func readConfiguration(_ path: String) throws -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw HostsFile.Problem(String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw HostsFile.Problem("not a regular file") }
        guard info.st_size <= HostsTOML.maxSize else { throw HostsFile.Problem("larger than \(HostsTOML.maxSize) bytes") }
        var bytes = [UInt8](repeating: 0, count: HostsTOML.maxSize + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + count, $0.count - count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw HostsFile.Problem(String(cString: strerror(errno)))
            }
            if got == 0 { break }
            count += got
        }
        guard count <= HostsTOML.maxSize else { throw HostsFile.Problem("larger than \(HostsTOML.maxSize) bytes") }
        return Array(bytes[..<count])
    }
}
