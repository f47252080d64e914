import Foundation
import Pipeline
import PipelineTesting
import Testing
import TestSupport
@testable import SourcesORAS

/// The ORAS fetcher against the fetcher conformance suite, on a real distribution registry with
/// artifacts pushed by the oras client.
@Suite(.offPool) struct ORASConformanceTests {
    /// Publishes content as a one-layer artifact titled `package.bin` (the plan's file name), one
    /// repository per name; a new version is a new push to the same tag.
    struct Subject: FetcherConformanceSubject {
        let registry: TestRegistry
        let work: TemporaryDirectory
        var fetcher: any Fetcher { ORASFetcher.make() }

        func publish(_ content: Data, as name: String) async throws -> Source {
            let repository = "conformance/" + name.replacingOccurrences(of: ".", with: "-")
            try push(content, repository: repository)
            return Source(scheme: "oci", location: "\(registry.host)/\(repository):v1")
        }

        func replace(_ source: Source, with content: Data) async throws {
            let repository = source.location.dropFirst(registry.host.count + 1).split(separator: ":")[0]
            try push(content, repository: String(repository))
        }

        func missing() async throws -> Source { Source(scheme: "oci", location: "\(registry.host)/conformance/missing:v1") }

        private func push(_ content: Data, repository: String) throws {
            let folder = work.join(UUID().uuidString)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try content.write(to: URL(fileURLWithPath: folder + "/package.bin"))
            _ = try registry.pushWithORAS(folder + "/package.bin", repository: repository, tag: "v1")
        }
    }

    @Test func passesTheFetcherConformanceSuite() async throws {
        try await FetcherConformance.check(Subject(registry: try TestRegistry(), work: try TemporaryDirectory("oras-conformance")))
    }
}
