import Foundation

/// A real nginx serving a directory on 127.0.0.1 (with Range support, as nginx always has), run as
/// the tests' own process from a generated config: everything it writes (pid, logs, temp files) goes
/// to its own temp directory. Stopped when the object goes away, or at exit for the shared instances.
public final class Nginx: @unchecked Sendable {
    /// The directory served at `/`.
    public let root: String
    public let port: Int
    /// Set when the server speaks TLS.
    public let certificates: TestCertificates?
    private let directory: TemporaryDirectory
    private let process: BackgroundProcess

    /// Starts nginx serving `root` (a new empty directory when nil), over TLS with `certificates`;
    /// with `pacing`, every connection is capped at that many bytes per second for its whole life
    /// (scripts/pace.c, preloaded: the kernel paces each socket), as a CDN caps one stream.
    /// With `registryPort`, `/v2/` is proxied to a registry there (so its blobs come paced too).
    public init(root: String? = nil, certificates: TestCertificates? = nil, pacing: Int? = nil, registryPort: Int? = nil) throws {
        let binary = try Tools.path(of: "nginx")
        directory = try TemporaryDirectory("nginx")
        let served = root ?? directory.join("root")
        try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
        self.root = served
        self.certificates = certificates
        var environment: [String: String]?
        if pacing != nil {
            let shim = directory.join("pace.so")
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/pace.c").path
            _ = try Processes.check([try Tools.path(of: "cc"), "-O2", "-shared", "-fPIC", "-o", shim, source, "-ldl"])
            environment = ProcessInfo.processInfo.environment.merging(["LD_PRELOAD": shim]) { $1 }
        }
        var lastError: (any Error)?
        // The port is free when picked, but another process may take it first: pick again then.
        for _ in 0..<3 {
            let port = try Ports.free()
            let config = directory.join("nginx.conf")
            try Self.config(directory: directory, root: served, port: port, certificates: certificates, paced: pacing != nil,
                            registryPort: registryPort)
                .write(toFile: config, atomically: true, encoding: .utf8)
            environment?["PACE_RATES"] = pacing.map { "\(port)=\($0)" }
            let server = try BackgroundProcess([binary, "-c", config, "-p", directory.path, "-e", directory.join("error.log")],
                                               logPath: directory.join("stderr.log"), environment: environment)
            do {
                try Ports.waitUntilListening(port, timeout: .seconds(10), process: server.process)
                self.port = port
                process = server
                return
            } catch {
                server.stop()
                lastError = TestSupportError("nginx did not start: \(error); \(server.log) \((try? String(contentsOfFile: directory.join("error.log"), encoding: .utf8)) ?? "")")
            }
        }
        throw lastError ?? TestSupportError("nginx did not start")
    }

    deinit { process.stop() }

    public func stop() { process.stop() }

    /// Stops the server and removes its directory now (a shared instance is never deinitialised).
    func stopAndRemoveFiles() {
        process.stop()
        try? FileManager.default.removeItem(atPath: directory.path)
        if let certificates { try? FileManager.default.removeItem(atPath: certificates.directory.path) }
    }

    public var scheme: String { certificates == nil ? "http" : "https" }

    /// `http(s)://127.0.0.1:PORT` + path.
    public func url(_ path: String) -> String { "\(scheme)://127.0.0.1:\(port)\(path)" }

    /// The path in `root` for a served path.
    public func file(_ path: String) -> String { (root as NSString).appendingPathComponent(path) }

    public var errorLog: String { (try? String(contentsOfFile: directory.join("error.log"), encoding: .utf8)) ?? "" }

    /// The most requests nginx served at once, from the log's end times and durations (a paced server
    /// keeps a 64 KiB send buffer, so a request's time covers its transfer; each request's
    /// end is taken `slack` earlier: nginx may log a request the client already left a moment later).
    public func mostAtOnce(slack: Double = 0.02) -> Int {
        let spans: [(Double, Double)] = accessLog.compactMap { line in
            guard let field = line.split(separator: " ").first(where: { $0.hasPrefix("t=") }) else { return nil }
            let parts = field.dropFirst(2).split(separator: "/").compactMap { Double($0) }
            guard parts.count == 2 else { return nil }
            return (parts[0] - parts[1], parts[0] - slack)
        }
        var edges: [(at: Double, change: Int)] = []
        for (start, end) in spans {
            edges.append((start, 1))
            edges.append((end, -1))
        }
        // At the same instant an end counts before a start.
        edges.sort { (a, b) -> Bool in a.at == b.at ? a.change < b.change : a.at < b.at }
        var open = 0
        var most = 0
        for (_, change) in edges {
            open += change
            most = max(most, open)
        }
        return most
    }

    /// Request lines nginx logged: `METHOD /path STATUS "range" t=END/SECONDS conn=N` (N numbers the TCP connection).
    public var accessLog: [String] {
        ((try? String(contentsOfFile: directory.join("access.log"), encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    /// The top of every test nginx config: foreground, one worker, pid and errors in `dir`.
    /// `user root`: workers must read the 0700 temp directories the tests make.
    static func preamble(_ dir: String) -> String {
        """
        user root;
        daemon off;
        worker_processes 1;
        pid \(dir)/nginx.pid;
        error_log \(dir)/error.log warn;
        events { worker_connections 256; }
        """
    }

    /// Every `*_temp_path` inside `dir`, so nginx never writes outside the test's directory.
    static func temporaryPaths(_ dir: String) -> String {
        ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map { "\($0)_temp_path \(dir)/\($0);" }.joined(separator: " ")
    }

    static func config(directory: TemporaryDirectory, root: String, port: Int, certificates: TestCertificates?, paced: Bool = false,
                       registryPort: Int? = nil) -> String {
        let registry = registryPort.map {
            "location /v2/ { proxy_pass http://127.0.0.1:\($0); proxy_buffering off; proxy_set_header Host $http_host; }"
        } ?? ""
        let dir = directory.path
        let tls = certificates.map {
            """
                    ssl_certificate \($0.serverCertificate);
                    ssl_certificate_key \($0.serverKey);
            """
        } ?? ""
        return """
        \(preamble(dir))
        \(paced ? "env PACE_RATES;" : "")
        http {
            default_type application/octet-stream;
            log_format requests '$request_method $uri $status "$http_range" t=$msec/$request_time conn=$connection';
            access_log \(dir)/access.log requests;
            \(temporaryPaths(dir))
            sendfile on;
            server {
                listen 127.0.0.1:\(port)\(certificates == nil ? "" : " ssl")\(paced ? " sndbuf=64k" : "");
        \(tls)
                root \(root);
                location / { }
                # /slow/… serves the same files at 1 MB/s per connection: downloads long enough to overlap with unpacking.
                location /slow/ { alias \(root)/; limit_rate 1m; }
                # /redirect?to=URL answers 302 with Location: URL (the query is passed on unchanged).
                location = /redirect { return 302 $arg_to; }
                \(registry)
            }
        }

        """
    }
}

extension Nginx {
    private enum Started: Sendable {
        case running(Nginx)
        case failed(String)

        init(_ start: () throws -> Nginx) {
            do {
                let server = try start()
                ExitCleanup.register { server.stopAndRemoveFiles() }
                self = .running(server)
            } catch {
                self = .failed("\(error)")
            }
        }

        func get() throws -> Nginx {
            switch self {
            case .running(let server): return server
            case .failed(let message): throw TestSupportError(message)
            }
        }
    }

    private static let plain = Started { try Nginx() }
    private static let tls = Started { try Nginx(certificates: TestCertificates()) }

    /// One plain-HTTP nginx for the whole test process, started on first use. Tests put their files
    /// in its root under names of their own.
    public static func shared() throws -> Nginx { try plain.get() }

    /// One HTTPS nginx for the whole test process, with a certificate from its own test CA.
    public static func sharedTLS() throws -> Nginx { try tls.get() }
}
