import Foundation
import Testing
import TestSupport

/// Proxies from the environment: HTTP_PROXY/http_proxy for http://, HTTPS_PROXY (CONNECT) for https://,
/// NO_PROXY to go direct. The fault server plays the proxy and records what it was asked.
@Suite(.offPool) struct ProxyTests {
    let body = TestBodies.random(size: 1_000_000, seed: 41)

    @Test(arguments: ["HTTP_PROXY", "http_proxy"])
    func httpProxyFromTheEnvironmentIsUsed(variable: String) async throws {
        let origin = try FaultServer(), proxy = try FaultServer()
        origin.serve("/pkg.zip", body: body)
        proxy.serve("/pkg.zip", body: body)
        let dir = try TemporaryDirectory("proxy")
        let (run, _) = try await LoopbackCLI.fetch([origin.url("/pkg.zip"), "--output", dir.join("pkg.zip")],
                                                   environment: [variable: proxy.url("")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("pkg.zip")) == TestBodies.sha256(of: body))
        // A proxy is asked for the absolute URL.
        #expect(proxy.requests().map { "\($0.method) \($0.target)" } == ["GET \(origin.url("/pkg.zip"))"])
        #expect(origin.requests().isEmpty)
    }

    /// Also when pkgfetch hands HTTP_PROXY to libcurl itself (the upper-case name alone).
    @Test(arguments: zip(["HTTP_PROXY", "http_proxy", "HTTP_PROXY"], ["NO_PROXY", "no_proxy", "no_proxy"]))
    func noProxyGoesDirect(proxyVariable: String, noProxyVariable: String) async throws {
        let origin = try FaultServer(), proxy = try FaultServer()
        origin.serve("/pkg.zip", body: body)
        let dir = try TemporaryDirectory("proxy")
        let (run, _) = try await LoopbackCLI.fetch([origin.url("/pkg.zip"), "--output", dir.join("pkg.zip")],
                                                   environment: [proxyVariable: proxy.url(""), noProxyVariable: "localhost,127.0.0.1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(proxy.requests().isEmpty)
        #expect(origin.requests().count == 1)
    }

    @Test func httpsProxyTunnelsWithConnect() async throws {
        let nginx = try Nginx.sharedTLS()
        let name = "proxied-\(UUID().uuidString.prefix(8)).zip"
        try body.write(to: URL(fileURLWithPath: nginx.file(name)))
        let proxy = try FaultServer()
        let dir = try TemporaryDirectory("proxy")
        let caFile = try #require(nginx.certificates).caFile
        let (run, _) = try await LoopbackCLI.fetch([nginx.url("/\(name)"), "--output", dir.join("pkg.zip"), "--ca-file", caFile],
                                                   environment: ["HTTPS_PROXY": proxy.url("")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("pkg.zip")) == TestBodies.sha256(of: body))
        #expect(proxy.requests().map { "\($0.method) \($0.target)" } == ["CONNECT 127.0.0.1:\(nginx.port)"])
    }
}
