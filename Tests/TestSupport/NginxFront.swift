import Foundation

/// A real nginx as a reverse proxy on 127.0.0.1:`port`, sending each path prefix to its own loopback
/// upstream: one host:port in front of several servers, as a registry that serves `/v2/` and
/// `/oauth2/` from one name looks to its clients. The port is chosen by the caller, since the servers
/// behind may need to know it first (a token realm is published as the front's URL).
public final class NginxFront: @unchecked Sendable {
    public let port: Int
    private let directory: TemporaryDirectory
    private let process: BackgroundProcess

    /// `routes`: path prefix (e.g. `/v2/`) → upstream port on 127.0.0.1. The path is passed on unchanged,
    /// unless `upstreamPaths` maps the prefix to another (`/mirror/` → `/v2/`: the prefix is replaced).
    /// `tls`: serve HTTPS with a certificate for 127.0.0.1 that this CA signs (the upstreams stay plain HTTP).
    /// `clientCA`: with `tls`, ask for a client certificate and refuse requests without one it signed.
    public init(port: Int, routes: [(prefix: String, upstreamPort: Int)], tls: TestCA? = nil,
                upstreamPaths: [String: String] = [:], clientCA: String? = nil) throws {
        let binary = try Tools.path(of: "nginx")
        directory = try TemporaryDirectory("nginx-front")
        self.port = port
        let dir = directory.path
        let certificate = try tls.map { try $0.serverCertificate(in: dir) }
        var listen = certificate.map { "listen 127.0.0.1:\(port) ssl;\n        ssl_certificate \($0.0);\n        ssl_certificate_key \($0.1);" }
            ?? "listen 127.0.0.1:\(port);"
        if let clientCA { listen += "\n        ssl_client_certificate \(clientCA);\n        ssl_verify_client on;" }
        let locations = routes.map { route in
            """
                    location \(route.prefix) {
                        proxy_pass http://127.0.0.1:\(route.upstreamPort)\(upstreamPaths[route.prefix] ?? "");
                        proxy_set_header Host $http_host;
                        proxy_set_header Connection "";
                    }
            """
        }.joined(separator: "\n")
        let config = """
        \(Nginx.preamble(dir))
        http {
            log_format requests '$request_method $uri $status';
            access_log \(dir)/access.log requests;
            log_format headers '$request_method $uri $status $http_x_pkgfetch_test';
            access_log \(dir)/headers.log headers;
            \(Nginx.temporaryPaths(dir))
            client_max_body_size 0;
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_request_buffering off;
            server {
                \(listen)
        \(locations)
                location / { return 404; }
            }
        }

        """
        let path = directory.join("nginx.conf")
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        process = try BackgroundProcess([binary, "-c", path, "-p", dir, "-e", directory.join("error.log")],
                                        logPath: directory.join("stderr.log"))
        do {
            try Ports.waitUntilListening(port, timeout: .seconds(10), process: process.process)
        } catch {
            process.stop()
            throw TestSupportError("nginx front did not start on \(port): \(error); \(process.log) \(errorLog)")
        }
    }

    deinit { process.stop() }

    public func stop() { process.stop() }

    /// `127.0.0.1:PORT`.
    public var host: String { "127.0.0.1:\(port)" }

    public var errorLog: String { (try? String(contentsOfFile: directory.join("error.log"), encoding: .utf8)) ?? "" }

    /// Request lines with the `X-Pkgfetch-Test` header's value: `METHOD /path STATUS value` (`-` without).
    public var headerLog: [String] {
        ((try? String(contentsOfFile: directory.join("headers.log"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Request lines nginx logged: `METHOD /path STATUS`.
    public var accessLog: [String] {
        ((try? String(contentsOfFile: directory.join("access.log"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}
