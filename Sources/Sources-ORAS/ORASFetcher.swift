import Foundation
import Pipeline
import SourcesHTTP

/// Fetches `oci` sources the way `oras pull` does: resolve the reference to a manifest (picking the
/// plan's platform from an index), choose the layer titled with the package's file name, and
/// stream that blob into staging. The runner verifies it against the layer's digest and size.
public struct ORASFetcher: Fetcher {
    public let client: RegistryClient
    /// Index → manifest hops allowed (an index of indexes is legal but rare; a loop is not).
    public var maxIndexDepth = 3
    private let resumes = ResumeLedger()

    public init(client: RegistryClient) { self.client = client }

    public init(transport: CurlTransport, credentials: any CredentialStore = AnonymousCredentialStore(),
                schemes: RegistrySchemePolicy = RegistrySchemePolicy(), stallTimeout: Duration = .seconds(30)) {
        client = RegistryClient(transport: transport, credentials: credentials, schemes: schemes, stallTimeout: stallTimeout)
    }

    public func fetch(_ source: Source, into file: StagingFile, context: FetchContext) async throws -> FetchedContent {
        let layer = try await chosenLayer(for: source, context: context)
        let (reference, digest) = (layer.reference, layer.digest)
        // Bytes kept from an earlier attempt are resumed only if they belong to this very blob.
        if resumes.swap(file.path, to: digest) != digest || file.byteCount > layer.size { try file.reset() }
        if file.byteCount < layer.size || layer.size == 0 {
            try await client.downloadBlob(reference, digest: digest, size: layer.size, into: file, deadline: context.deadline,
                                          source: source, progress: context.progress, events: context.events)
        }
        return FetchedContent(expected: ExpectedContent(digest: digest, size: layer.size),
                              format: layer.isPackedDirectory ? .tarGzip : nil)
    }

    /// The image manifest for the reference: itself, or the entry of its index for the plan's platform
    /// (`--platform`, else the one the URL names, else this machine's).
    func imageManifest(for reference: Reference, source: Source, context: FetchContext) async throws -> ImageManifest {
        var current = reference
        for _ in 0...maxIndexDepth {
            let started = ContinuousClock.now
            let fetched = try await client.manifest(current, deadline: context.deadline, events: context.events)
            context.events.emit(task: "oci-manifest", source: source, bytes: Int64(fetched.size), since: started, outcome: "ok")
            switch fetched.document {
            case .manifest(let manifest):
                return manifest
            case .index(let index):
                let platform = context.plan.platform ?? .host
                guard let entry = PlatformMatcher(platform).select(from: index.manifests) else {
                    let offered = index.manifests.map { $0.platform?.description ?? "(no platform)" }
                    throw PkgfetchError(.noMatchingContent,
                                        "\(reference): the index has no manifest for \(platform); it offers \(offered.isEmpty ? "nothing" : offered.joined(separator: ", "))")
                }
                guard let digest = entry.sha256 else {
                    throw PkgfetchError(.orasPullFailed, "\(reference): index entry for \(platform) has digest '\(entry.digest)'; only sha256 is supported")
                }
                current = reference.pinned(to: digest)
            }
        }
        throw PkgfetchError(.orasPullFailed, "\(reference): indexes nested deeper than \(maxIndexDepth) levels")
    }
}

/// Which blob each staging file was last filled from, so a retry resumes only its own bytes.
private final class ResumeLedger: @unchecked Sendable {
    private let lock = NSLock()
    private var blobs: [String: SHA256Digest] = [:]

    /// Records `digest` for `path` and returns what was recorded before.
    func swap(_ path: String, to digest: SHA256Digest) -> SHA256Digest? {
        lock.withLock {
            let previous = blobs[path]
            blobs[path] = digest
            return previous
        }
    }
}
