import Foundation
import Pipeline
import PipelineTesting
import SourcesHelper
import Testing
import TestSupport

/// `HelperFetcher` running the Python example helper against nginx passes the same conformance suite
/// as the built-in fetchers: the runner's resume, reset, deadline, size limit, progress and
/// cancellation work for a helper as for any stream.
@Suite(.offPool) struct HelperConformanceTests {
    struct Subject: FetcherConformanceSubject {
        let nginx: Nginx
        let directory: String
        var fetcher: any Fetcher {
            HelperFetcher(executable: "\(ExampleHelpers.directory("python"))/pkgfetch-fetch-webstore", relay: { _ in })
        }

        func publish(_ content: Data, as name: String) async throws -> Source {
            try content.write(to: URL(fileURLWithPath: nginx.file("\(directory)/\(name)")))
            return Source(scheme: "webstore", location: webstoreURL(nginx, "/\(directory)/\(name)"))
        }

        func replace(_ source: Source, with content: Data) async throws {
            let path = nginx.file(String(URLComponents(string: source.location)!.path.dropFirst()))
            try content.write(to: URL(fileURLWithPath: path))
            // nginx's ETag is the modification time and size: a new version of the same size within
            // the same second would keep the old one.
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(60)], ofItemAtPath: path)
        }

        func missing() async throws -> Source { Source(scheme: "webstore", location: webstoreURL(nginx, "/\(directory)/missing.bin")) }
    }

    @Test func theExampleHelperPassesTheFetcherConformanceSuite() async throws {
        let nginx = try Nginx.shared()
        let directory = "conformance-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: nginx.file(directory), withIntermediateDirectories: true)
        let checks = try await FetcherConformance.check(Subject(nginx: nginx, directory: directory))
        #expect(checks.count == 11 && checks.contains("nothing left running"), "\(checks)")
    }
}
