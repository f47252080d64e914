import Foundation
import ObjectStoreExample
import Pipeline
import PipelineTesting
import Testing
import TestSupport

/// The example backend, as its team would test it: the conformance suite in one line, and the
/// pkgfetch command fetching an `objstore://` URL.
@Suite(.offPool) struct ObjectStoreTests {
    struct Subject: FetcherConformanceSubject {
        let server: ObjectStoreServer
        var fetcher: any Fetcher { ObjectStoreFetcher() }

        func publish(_ content: Data, as name: String) async throws -> Source {
            server.put("bucket/\(name)", content)
            return Source(scheme: "objstore", location: server.url("bucket/\(name)"))
        }

        func replace(_ source: Source, with content: Data) async throws {
            server.put(String(URLComponents(string: source.location)!.path.dropFirst()), content)
        }

        func missing() async throws -> Source { Source(scheme: "objstore", location: server.url("bucket/missing.bin")) }
    }

    @Test func passesTheFetcherConformanceSuite() async throws {
        try await FetcherConformance.check(Subject(server: try ObjectStoreServer()))
    }

    /// Reachable from the command: fetched, verified and unpacked like a CDN download; a missing object
    /// exits with the not-found code a download gets (21) without a line of exit-code code in the backend.
    @Test func thePkgfetchCommandFetchesObjstoreURLs() async throws {
        let work = try TemporaryDirectory("objstore")
        let server = try ObjectStoreServer()
        try FileManager.default.createDirectory(atPath: work.join("tree/bin"), withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho tool\n".utf8).write(to: URL(fileURLWithPath: work.join("tree/bin/tool")))
        _ = try Processes.check(["tar", "-czf", work.join("tool.tar.gz"), "-C", work.join("tree"), "bin"])
        let archive = try Data(contentsOf: URL(fileURLWithPath: work.join("tool.tar.gz")))
        server.put("bucket/tools/tool.tar.gz", archive)

        let run = try PkgfetchCLI.run(["fetch", server.url("bucket/tools/tool.tar.gz"), "--dest", work.join("opt"),
                                       "--sha256", try Files.sha256(work.join("tool.tar.gz"))])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOfFile: work.join("opt/bin/tool"), encoding: .utf8) == "#!/bin/sh\necho tool\n")

        let missing = try PkgfetchCLI.run(["fetch", server.url("bucket/tools/none.tar.gz"), "--output", work.join("none")])
        #expect(missing.status == 21, "\(missing.stderr)")
        #expect(missing.stderr.contains("no object"))
    }
}
