import Foundation
@testable import SourcesHTTP
import Testing
import TestSupport

/// Redirects are followed (up to 10), and credentials stay with the host, scheme and port they were meant for.
@Suite(.offPool) struct RedirectTests {
    let body = TestBodies.random(size: 100_000)

    func get(_ url: String, authorization: String) async throws -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add("Authorization", authorization)
        return try await CurlTransport().send(HTTPRequest(url: url, headers: headers, deadline: .now + .seconds(20))) { _ in
            .collect(limit: 1 << 20)
        }
    }

    @Test func authorizationIsNotSentToAnotherPort() async throws {
        let origin = try FaultServer(), elsewhere = try FaultServer()
        elsewhere.serve("/blob", body: body)
        origin.serve("/pkg.zip", body: Data(), faults: [.redirect(to: elsewhere.url("/blob"))])
        let response = try await get(origin.url("/pkg.zip"), authorization: "Bearer s3cr3t")
        #expect(response.status == 200)
        #expect(response.body == body)
        #expect(origin.requests(to: "/pkg.zip").first?.header("Authorization") == "Bearer s3cr3t")
        let received = try #require(elsewhere.requests(to: "/blob").first)
        #expect(received.header("Authorization") == nil)
        #expect(!received.headers.contains { $0.value.contains("s3cr3t") })
    }

    /// Same server, same port, another host name (localhost for 127.0.0.1): another host all the same.
    @Test func authorizationIsNotSentToAnotherHostName() async throws {
        let server = try FaultServer()
        server.serve("/blob", body: body)
        server.serve("/pkg.zip", body: Data(), faults: [.redirect(to: "http://localhost:\(server.port)/blob")])
        let response = try await get(server.url("/pkg.zip"), authorization: "Bearer s3cr3t")
        #expect(response.status == 200)
        #expect(response.body == body)
        let received = try #require(server.requests(to: "/blob").first)
        #expect(received.header("Host")?.hasPrefix("localhost:") == true, "\(received.headers)")
        #expect(received.header("Authorization") == nil)
    }

    @Test func authorizationIsKeptOnTheSameHostAndPort() async throws {
        let server = try FaultServer()
        server.serve("/blob", body: body)
        server.serve("/pkg.zip", body: Data(), faults: [.redirect(to: server.url("/blob"), status: 307)])
        let response = try await get(server.url("/pkg.zip"), authorization: "Bearer s3cr3t")
        #expect(response.body == body)
        #expect(server.requests(to: "/blob").first?.header("Authorization") == "Bearer s3cr3t")
    }

    @Test func redirectsAreFollowedUpToTen() async throws {
        let server = try FaultServer()
        server.serve("/blob", body: body)
        for hop in 0..<10 {
            server.serve("/hop\(hop)", body: Data(), faults: [.redirect(to: server.url(hop == 9 ? "/blob" : "/hop\(hop + 1)"))])
        }
        let response = try await get(server.url("/hop0"), authorization: "x")
        #expect(response.status == 200)
        #expect(response.body == body)

        server.serve("/loop", body: Data(), faults: Array(repeating: .redirect(to: server.url("/loop")), count: 20))
        let failure = try await #require(throws: TransportError.self) { try await get(server.url("/loop"), authorization: "x") }
        #expect(failure.kind == .tooManyRedirects)
        #expect(server.requests(to: "/loop").count == 11)
    }
}
