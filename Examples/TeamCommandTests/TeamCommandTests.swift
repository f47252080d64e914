import Foundation
import ObjectStoreExample
import Testing
import TestSupport

/// The team's own command (Examples/TeamCommand): pkgfetch with one more backend, from a main.swift of
/// a few lines. It fetches the team's scheme end to end, lists it, and the stock command does not.
@Suite(.offPool) struct TeamCommandTests {
    static var teamCommand: String {
        get throws {
            let path = ((try PkgfetchCLI.path) as NSString).deletingLastPathComponent + "/pkgfetch-team"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw TestSupportError("pkgfetch-team not found at \(path); run `swift build --build-tests` first")
            }
            return path
        }
    }

    @Test func theTeamCommandFetchesItsOwnScheme() throws {
        let work = try TemporaryDirectory("team")
        let server = try ObjectStoreServer()
        try Files.writeRandom(work.join("blob"), size: 1 << 20)
        let blob = try Data(contentsOf: URL(fileURLWithPath: work.join("blob")))
        server.put("bucket/tools/blob.bin", blob, tenant: "team")
        let url = server.url("bucket/tools/blob.bin").replacingOccurrences(of: "objstore://", with: "teamstore://")

        let run = try Processes.run([try Self.teamCommand, "fetch", url, "--output", work.join("out.bin"), "--sha256", blob.sha256Hex])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: work.join("out.bin"))) == blob)

        let plugins = try Processes.run([try Self.teamCommand, "plugins"])
        #expect(plugins.stdout.contains("  teamstore  ObjectStoreFetcher"), "\(plugins.stdout)")
        #expect(plugins.stdout.contains("  https      HTTPFetcher"), "the built-in backends are all there: \(plugins.stdout)")

        // The team's tenant is the backend's own configuration: another tenant's object is not found (21).
        let other = try Processes.run([try Self.teamCommand, "fetch", url, "--output", work.join("other.bin")],
                                      environment: ["TEAMSTORE_TENANT": "someone-else", "PATH": "/usr/bin:/bin"])
        #expect(other.status == 21, "\(other.stderr)")

        let stock = try PkgfetchCLI.run(["fetch", url, "--output", work.join("stock.bin")])
        #expect(stock.status == 11, "the stock pkgfetch has no teamstore backend: \(stock.stderr)")
    }
}
