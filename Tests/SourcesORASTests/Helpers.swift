import Foundation
import Pipeline
import SourcesHTTP
import TestSupport
@testable import SourcesORAS

/// What one stream of a fetcher produced, checked as the runner checks it.
struct Pulled {
    /// What the stream promised.
    struct Promise {
        var expected: ExpectedContent
        var format: ArchiveFormat?
    }

    var path: String
    var content: Promise
    var digest: SHA256Digest
    var size: Int64
    var events: [Event]
}

/// Opens one `oci` source with `fetcher` and reads the stream into a file in `directory`, then verifies
/// the bytes against what the stream promised, as `PipelineRunner` does.
func pull(_ fetcher: ORASFetcher, _ reference: String, fileName: String, platform: Platform? = nil,
          into directory: TemporaryDirectory, name: String = "staged") async throws -> Pulled {
    let path = directory.join(name)
    let source = Source(scheme: "oci", location: reference)
    let plan = Plan(rule: "test", package: "test", fileName: fileName, platform: platform, reference: reference, sources: [source])
    let events = CollectingEventSink()
    let context = FetchContext(plan: plan, attempt: 1, deadline: .now + .seconds(120), events: EventEmitter(sink: events))
    let stream = try await fetcher.open(FetchRequest(source: source), context: context)
    let sink = try FileSink(path: path)
    try await stream.body.deliver(into: sink)
    let (digest, size) = sink.finish()
    let promise = ExpectedContent(digest: stream.digest, size: stream.size)
    try promise.verify(digest: digest, size: size, of: reference)
    return Pulled(path: path, content: Pulled.Promise(expected: promise, format: stream.format), digest: digest, size: size,
                  events: events.events)
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
    /// A fetcher over a fresh transport. Its stall limit (like `pull`'s deadline) only stops a hung
    /// server: a stand-in that signs tokens with openssl can take seconds on a loaded machine.
    static func make(credentials: any CredentialStore = AnonymousCredentialStore(), schemes: RegistrySchemePolicy = RegistrySchemePolicy(),
                     caFile: String? = nil, tokens: TokenCache = TokenCache()) -> ORASFetcher {
        let transport = CurlTransport(options: .init(caFile: caFile))
        return ORASFetcher(client: RegistryClient(transport: transport, credentials: credentials, schemes: schemes, tokens: tokens,
                                                  stallTimeout: .seconds(60)))
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
