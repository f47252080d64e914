import Foundation

/// A CNCF distribution registry (`docker-registry serve`, Debian's package) on 127.0.0.1 and a free
/// port, in one of the configurations the tests need. Stopped when the object goes away.
public final class TestRegistry: @unchecked Sendable {
    public enum Auth: Sendable {
        case none
        /// Basic auth against an htpasswd file of bcrypt hashes.
        case htpasswd(users: [String: String])
        /// The distribution token flow, with `TokenServer` as the issuer.
        case token(TokenServer)
    }

    public let port: Int
    /// `127.0.0.1:PORT`.
    public let host: String
    /// The storage root; several registries may serve one root (push to an open one, pull from a secured one).
    public let root: String
    public let scheme: String
    private let server: BackgroundProcess
    private let directory: TemporaryDirectory

    /// Starts a registry. `root` defaults to a fresh directory; `tls` serves HTTPS with a certificate for 127.0.0.1.
    /// `accessLog` writes each request to the log (`requests`); `proxy` makes it a read-only pull-through
    /// cache of the registry at that URL.
    public init(auth: Auth = .none, tls: TestCA? = nil, root: String? = nil, accessLog: Bool = false, proxy: String? = nil) throws {
        directory = try TemporaryDirectory("registry")
        self.root = root ?? directory.join("storage")
        try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
        port = try Ports.free()
        host = "127.0.0.1:\(port)"
        scheme = tls == nil ? "http" : "https"
        var config = """
        version: 0.1
        log:
          level: warn
          accesslog:
            disabled: \(!accessLog)
        storage:
          filesystem:
            rootdirectory: \(self.root)
          delete:
            enabled: true
        http:
          addr: 127.0.0.1:\(port)
          secret: pkgfetch-test-secret

        """
        if let proxy {
            config = "proxy:\n  remoteurl: \(proxy)\n" + config
        }
        if let tls {
            let (certificate, key) = try tls.serverCertificate(in: directory.path)
            config += "  tls:\n    certificate: \(certificate)\n    key: \(key)\n"
        }
        switch auth {
        case .none:
            break
        case .htpasswd(let users):
            var lines = ""
            for (user, password) in users.sorted(by: { $0.key < $1.key }) {
                lines += try Processes.check(["htpasswd", "-Bbn", user, password]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
            }
            let path = directory.join("htpasswd")
            try lines.write(toFile: path, atomically: true, encoding: .utf8)
            config += "auth:\n  htpasswd:\n    realm: pkgfetch-test\n    path: \(path)\n"
        case .token(let issuer):
            config += """
            auth:
              token:
                realm: \(issuer.realm)
                service: \(issuer.service)
                issuer: \(issuer.issuer)
                rootcertbundle: \(issuer.certificatePath)

            """
        }
        let configPath = directory.join("config.yml")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        server = try BackgroundProcess(["docker-registry", "serve", configPath], logPath: directory.join("registry.log"))
        do {
            try Ports.waitUntilListening(port, process: server.process)
        } catch {
            throw TestSupportError("\(error); registry log: \(server.log.suffix(2000))")
        }
    }

    deinit { stop() }

    public func stop() { server.stop() }
    public var log: String { server.log }

    /// With `accessLog`: each request as `METHOD /path?query STATUS USER-AGENT`, in order.
    public var requests: [String] {
        log.split(separator: "\n").compactMap { line -> String? in
            // Combined log format: ... "GET /v2/... HTTP/1.1" 200 123 "referer" "user agent"
            let quoted = line.split(separator: "\"", omittingEmptySubsequences: false)
            guard quoted.count >= 7 else { return nil }
            let request = quoted[1].split(separator: " ")
            guard request.count >= 2, request[1].hasPrefix("/v2/") else { return nil }
            let status = quoted[2].split(separator: " ").first ?? ""
            return "\(request[0]) \(request[1]) \(status) \(quoted[5])"
        }
    }

    /// Where the registry keeps a blob's bytes: overwrite it to simulate corruption at rest.
    public func blobDataPath(_ digest: String) -> String {
        let hex = digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : digest
        return "\(root)/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    // MARK: pushing with independent clients (plain-HTTP, unauthenticated registries)

    /// `oras push` of one file with the Python `oras` client, run from the file's directory so the
    /// layer's title is the file's base name. Returns the manifest digest.
    @discardableResult
    public func pushWithORAS(_ file: String, repository: String, tag: String) throws -> String {
        let directory = (file as NSString).deletingLastPathComponent
        return try pushWithORAS(files: [(file as NSString).lastPathComponent], in: directory.isEmpty ? "." : directory,
                                repository: repository, tag: tag)
    }

    /// `oras push REF a b c` with the Python `oras` client: one layer per file of `directory`, in order,
    /// titled with its name, unless `titles` gives a file another title (through oras' annotation
    /// file, as any pusher may write one: `../x` and `a/b` included). Returns the manifest digest.
    @discardableResult
    public func pushWithORAS(files: [String], in directory: String, repository: String, tag: String,
                             titles: [String: String] = [:]) throws -> String {
        try Tools.requirePythonModule("oras", pip: "oras")
        let script = """
        import sys, json, oras.client
        client = oras.client.OrasClient(hostname=sys.argv[1], insecure=True)
        titles = json.loads(sys.argv[4])
        annotations = None
        if titles:
            annotations = "annotations.json"
            with open(annotations, "w") as f:
                json.dump({name: {"org.opencontainers.image.title": title} for name, title in titles.items()}, f)
        client.push(files=sys.argv[5:], target=f"{sys.argv[1]}/{sys.argv[2]}:{sys.argv[3]}", disable_path_validation=True,
                    annotation_file=annotations)
        """
        let titleJSON = String(decoding: try JSONSerialization.data(withJSONObject: titles), as: UTF8.self)
        let output = try Processes.run(["python3", "-c", script, host, repository, tag, titleJSON] + files, currentDirectory: directory)
        guard output.status == 0 else {
            throw TestSupportError("oras push \(files) to \(host)/\(repository):\(tag) failed: \(output.stderr.suffix(2000))")
        }
        return try manifest(repository: repository, reference: tag).digest
    }

    /// `skopeo copy` from a local layout (`dir:PATH`, `oci:PATH:TAG`) into this registry, byte for byte
    /// (`--preserve-digests`: the manifest and its annotations arrive as written).
    public func skopeoCopy(from source: String, repository: String, tag: String) throws {
        try Processes.check(["skopeo", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false", source, "docker://\(host)/\(repository):\(tag)"])
    }

    /// The manifest's bytes, digest and media type as the registry serves them (curl, any manifest type).
    public func manifest(repository: String, reference: String) throws -> (body: Data, digest: String, mediaType: String) {
        let accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"
        let directory = try TemporaryDirectory("manifest")
        let bodyPath = directory.join("body"), headPath = directory.join("head")
        try Processes.check(["curl", "-sfk", "-H", "Accept: \(accept)", "-D", headPath, "-o", bodyPath,
                             "\(scheme)://\(host)/v2/\(repository)/manifests/\(reference)"])
        let body = try Data(contentsOf: URL(fileURLWithPath: bodyPath))
        let head = try String(contentsOfFile: headPath, encoding: .utf8)
        func header(_ name: String) -> String {
            head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) } ?? ""
        }
        return (body, header("Docker-Content-Digest"), header("Content-Type"))
    }

    /// PUTs a manifest or index (e.g. an index over manifests already pushed). Returns its digest.
    @discardableResult
    public func putManifest(_ body: Data, mediaType: String, repository: String, tag: String) throws -> String {
        let directory = try TemporaryDirectory("put")
        let path = directory.join("manifest.json")
        try body.write(to: URL(fileURLWithPath: path))
        try Processes.check(["curl", "-sfk", "-X", "PUT", "-H", "Content-Type: \(mediaType)", "--data-binary", "@\(path)",
                             "\(scheme)://\(host)/v2/\(repository)/manifests/\(tag)"])
        return "sha256:" + (try Files.sha256(path))
    }

    /// An OCI index over `entries` (digest, size, media type, platform), as JSON.
    public static func index(_ entries: [(digest: String, size: Int, mediaType: String, platform: [String: String])],
                             mediaType: String = "application/vnd.oci.image.index.v1+json") -> Data {
        let manifests: [[String: Any]] = entries.map {
            ["mediaType": $0.mediaType, "digest": $0.digest, "size": $0.size, "platform": $0.platform]
        }
        let object: [String: Any] = ["schemaVersion": 2, "mediaType": mediaType, "manifests": manifests]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }
}

/// A throw-away certificate authority made with openssl, and server certificates for 127.0.0.1 it signs.
public final class TestCA: @unchecked Sendable {
    public let certificatePath: String
    let keyPath: String
    private let directory: TemporaryDirectory

    public init() throws {
        directory = try TemporaryDirectory("ca")
        certificatePath = directory.join("ca.pem")
        keyPath = directory.join("ca.key")
        try Processes.check(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certificatePath,
                             "-days", "2", "-subj", "/CN=pkgfetch test CA"])
    }

    /// A client certificate (`clientAuth`) signed by this CA; returns (certificate, key) paths.
    public func clientCertificate(in directory: String) throws -> (String, String) {
        try signed("client", subject: "/CN=pkgfetch node", extensions: "extendedKeyUsage=clientAuth\n", in: directory)
    }

    /// A certificate for 127.0.0.1 and localhost, signed by this CA; returns (certificate, key) paths.
    public func serverCertificate(in directory: String) throws -> (String, String) {
        try signed("server", subject: "/CN=127.0.0.1", extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
                   in: directory)
    }

    /// `directory/NAME.pem` and `NAME.key`: a new key and a certificate for it this CA signs.
    private func signed(_ name: String, subject: String, extensions: String, in directory: String) throws -> (String, String) {
        let key = "\(directory)/\(name).key", request = "\(directory)/\(name).csr", certificate = "\(directory)/\(name).pem"
        let extensionsFile = "\(directory)/\(name).ext"
        try extensions.write(toFile: extensionsFile, atomically: true, encoding: .utf8)
        try Processes.check(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request, "-subj", subject])
        try Processes.check(["openssl", "x509", "-req", "-in", request, "-CA", certificatePath, "-CAkey", keyPath, "-CAcreateserial",
                             "-out", certificate, "-days", "2", "-extfile", extensionsFile])
        return (certificate, key)
    }
}
