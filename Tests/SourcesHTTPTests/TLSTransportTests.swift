import Foundation
@testable import SourcesHTTP
import Testing
import TestSupport

/// TLS against a real nginx with a certificate from a test CA: verified by default, `caFile` adds a CA
/// to the system's, `insecure` turns verification off.
@Suite(.offPool) struct TLSTransportTests {
    func served() throws -> (Nginx, String, Data) {
        let nginx = try Nginx.sharedTLS()
        let body = TestBodies.random(size: 200_000, seed: 11)
        let name = "tls-transport-\(UUID().uuidString.prefix(8)).bin"
        try body.write(to: URL(fileURLWithPath: nginx.file(name)))
        return (nginx, nginx.url("/\(name)"), body)
    }

    func get(_ url: String, _ options: CurlTransport.Options) async throws -> HTTPResponse {
        try await CurlTransport(options: options).send(HTTPRequest(url: url, deadline: .now + .seconds(20))) { _ in
            .collect(limit: 1 << 20)
        }
    }

    @Test func unknownCAIsRefused() async throws {
        let (_, url, _) = try served()
        let failure = try await #require(throws: TransportError.self) { try await get(url, .init()) }
        #expect(failure.kind == .tls)
        #expect(!failure.isTransient)
    }

    @Test func caFileIsTrusted() async throws {
        let (nginx, url, body) = try served()
        let response = try await get(url, .init(caFile: try #require(nginx.certificates).caFile))
        #expect(response.status == 200)
        #expect(response.body == body)
    }

    @Test func insecureSkipsVerification() async throws {
        let (_, url, body) = try served()
        let response = try await get(url, .init(insecure: true))
        #expect(response.body == body)
    }

    @Test func httpsIsNeverRedirectedToPlainHTTP() async throws {
        let nginx = try Nginx.sharedTLS()
        let plain = try FaultServer()
        plain.serve("/pkg.zip", body: Data("swapped".utf8))
        let failure = try await #require(throws: TransportError.self) {
            try await get(nginx.url("/redirect?to=\(plain.url("/pkg.zip"))"), .init(caFile: try #require(nginx.certificates).caFile))
        }
        #expect(failure.message.contains("refused a redirect from https://"))
        #expect(plain.requests().isEmpty)
    }

    @Test func caFileIsAddedToTheSystemBundleNotSubstituted() throws {
        let system = try #require(TrustedCertificates.systemBundlePath)
        let systemPEM = try #require(FileManager.default.contents(atPath: system))
        let extra = try TemporaryDirectory("ca")
        let extraPEM = Data("-----BEGIN CERTIFICATE-----\nextra\n-----END CERTIFICATE-----\n".utf8)
        try extraPEM.write(to: URL(fileURLWithPath: extra.join("ca.pem")))
        let trusted = try #require(TrustedCertificates.adding(extra.join("ca.pem"), to: system))
        #expect(trusted.pem.starts(with: systemPEM))
        #expect(trusted.pem.suffix(extraPEM.count) == extraPEM)
        #expect(TrustedCertificates.adding(extra.join("missing.pem")) == nil)
    }
}
