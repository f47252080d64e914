import Foundation
import Pipeline
import SourcesHTTP
import TestSupport
@testable import SourcesORAS

/// What one fetch produced, checked as the pipeline runner checks it.
struct Pulled {
    var path: String
    var content: FetchedContent
    var digest: SHA256Digest
    var size: Int64
    var events: [Event]
}

/// Runs `fetcher` on one `oci` source into a staging file in `directory`, then verifies the bytes
/// against what the fetcher promised, as `PipelineRunner` does.
func pull(_ fetcher: ORASFetcher, _ reference: String, fileName: String, platform: Platform? = nil,
          into directory: TemporaryDirectory, name: String = "staged") async throws -> Pulled {
    let path = directory.join(name)
    let file = try StagingFile(path: path)
    let source = Source(scheme: "oci", location: reference)
    let plan = Plan(rule: "test", package: "test", fileName: fileName, platform: platform, reference: reference, sources: [source])
    let sink = CollectingEventSink()
    let context = FetchContext(plan: plan, attempt: 1, deadline: .now + .seconds(60), events: EventEmitter(sink: sink))
    let content = try await fetcher.fetch(source, into: file, context: context)
    let (digest, size) = try file.finish()
    try content.expected.verify(digest: digest, size: size, of: reference)
    try file.sync()
    return Pulled(path: path, content: content, digest: digest, size: size, events: sink.events)
}

/// Expects `body` to throw a `PkgfetchError` and returns it.
func pkgfetchError(_ body: () async throws -> Void) async -> PkgfetchError? {
    do {
        try await body()
        return nil
    } catch let error as PkgfetchError {
        return error
    } catch {
        return PkgfetchError(.internal, "unexpected \(error)")
    }
}

extension ORASFetcher {
    /// A fetcher over a fresh transport.
    static func make(credentials: any CredentialStore = AnonymousCredentialStore(), schemes: RegistrySchemePolicy = RegistrySchemePolicy(),
                     caFile: String? = nil, tokens: TokenCache = TokenCache()) -> ORASFetcher {
        let transport = CurlTransport(options: .init(caFile: caFile))
        return ORASFetcher(client: RegistryClient(transport: transport, credentials: credentials, schemes: schemes, tokens: tokens,
                                                  stallTimeout: .seconds(10)))
    }
}

/// A file of `size` random bytes named `name` in its own directory, ready for `oras push`.
func packageFile(_ name: String, size: Int, seed: UInt64, in directory: TemporaryDirectory) throws -> String {
    let folder = directory.join("push-\(seed)")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let path = folder + "/" + name
    try Files.writeRandom(path, size: size, seed: seed)
    return path
}
