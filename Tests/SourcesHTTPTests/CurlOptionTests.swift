import CCurl
import Foundation
@testable import SourcesHTTP
import Testing
import TestSupport

/// Every libcurl option is checked: an older libcurl than the one built against (Ubuntu 22.04 ships
/// 7.81, without the `*_PROTOCOLS_STR` options of 7.85) keeps the https-only redirect rule through
/// the bitmask options, and an option libcurl refuses outright stops the transfer before it starts.
/// The older libcurl is played by telling the transport to treat options as unknown, which is what
/// such a libcurl answers (`CURLE_UNKNOWN_OPTION`).
@Suite(.offPool) struct CurlOptionTests {
    static let stringOptions: Set<UInt32> = [ccurl_opt_protocols_str.rawValue, ccurl_opt_redir_protocols_str.rawValue]

    func transport(unknown: Set<UInt32>, caFile: String? = nil) -> CurlTransport {
        var options = CurlTransport.Options(caFile: caFile)
        options.unknownOptions = unknown
        return CurlTransport(options: options)
    }

    func get(_ transport: CurlTransport, _ url: String) async throws -> HTTPResponse {
        try await transport.send(HTTPRequest(url: url, deadline: .now + .seconds(20))) { _ in .collect(limit: 1 << 20) }
    }

    @Test func withoutTheStringOptionsHTTPSIsStillNeverRedirectedToPlainHTTP() async throws {
        let nginx = try Nginx.sharedTLS()
        let caFile = try #require(nginx.certificates).caFile
        let plain = try FaultServer()
        plain.serve("/pkg.zip", body: Data("swapped".utf8))
        let failure = try await #require(throws: TransportError.self) {
            try await get(transport(unknown: Self.stringOptions, caFile: caFile), nginx.url("/redirect?to=\(plain.url("/pkg.zip"))"))
        }
        #expect(failure.message.contains("refused a redirect from https://"), "\(failure.message)")
        #expect(plain.requests().isEmpty)

        // The same libcurl still follows redirects it may follow: the fallback restricts, it does not break.
        let body = TestBodies.random(size: 10_000, seed: 3)
        let server = try FaultServer()
        server.serve("/blob", body: body)
        server.serve("/pkg.zip", body: Data(), faults: [.redirect(to: server.url("/blob"))])
        #expect(try await get(transport(unknown: Self.stringOptions), server.url("/pkg.zip")).body == body)
    }

    /// Neither form of the protocol rule, or any other option refused: no request at all, and a
    /// message naming the option.
    @Test(arguments: [
        (Self.stringOptions.union([ccurl_opt_protocols.rawValue]), "PROTOCOLS"),
        (Self.stringOptions.union([ccurl_opt_redir_protocols.rawValue]), "REDIR_PROTOCOLS"),
        ([CURLOPT_FOLLOWLOCATION.rawValue], "FOLLOWLOCATION"),
        ([CURLOPT_HTTPHEADER.rawValue], "HTTPHEADER"),
    ] as [(Set<UInt32>, String)])
    func anOptionLibcurlRefusesStopsTheTransferBeforeItStarts(unknown: Set<UInt32>, name: String) async throws {
        let server = try FaultServer()
        server.serve("/pkg.zip", body: Data("x".utf8))
        let curl = transport(unknown: unknown)
        let failure = try await #require(throws: TransportError.self) { try await get(curl, server.url("/pkg.zip")) }
        #expect(failure.message.contains("refused option \(name) "), "\(failure.message)")
        #expect(failure.message.contains("pkgfetch does not transfer without it"))
        #expect(failure.curlCode == Int(CURLE_UNKNOWN_OPTION.rawValue))
        #expect(!failure.isTransient)
        #expect(server.requests().isEmpty)
        // Every later transfer on that transport is refused the same way (the pooled handle included).
        _ = try await #require(throws: TransportError.self) { try await get(curl, server.url("/pkg.zip")) }
        #expect(server.requests().isEmpty)
    }
}
