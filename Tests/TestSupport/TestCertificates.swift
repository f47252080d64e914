import Foundation

/// A throwaway certificate authority and a server certificate it signed for 127.0.0.1 and localhost,
/// made with `openssl` in a directory of their own.
public final class TestCertificates: @unchecked Sendable {
    public let directory: TemporaryDirectory
    /// The CA certificate (PEM): what `--ca-file` is given.
    public var caFile: String { directory.join("ca.pem") }
    public var serverCertificate: String { directory.join("server.pem") }
    public var serverKey: String { directory.join("server.key") }

    public init() throws {
        directory = try TemporaryDirectory("tls")
        let dir = directory
        try Processes.check(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                             "-nodes", "-keyout", dir.join("ca.key"), "-out", dir.join("ca.pem"), "-days", "2",
                             "-subj", "/CN=pkgfetch test CA",
                             "-addext", "basicConstraints=critical,CA:TRUE",
                             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try Processes.check(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", dir.join("server.key"), "-out", dir.join("server.csr"), "-subj", "/CN=127.0.0.1"])
        try """
        basicConstraints = CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth
        subjectAltName = IP:127.0.0.1, DNS:localhost
        """.write(toFile: dir.join("server.ext"), atomically: true, encoding: .utf8)
        try Processes.check(["openssl", "x509", "-req", "-in", dir.join("server.csr"), "-CA", dir.join("ca.pem"),
                             "-CAkey", dir.join("ca.key"), "-CAcreateserial", "-out", dir.join("server.pem"),
                             "-days", "2", "-extfile", dir.join("server.ext")])
    }
}
