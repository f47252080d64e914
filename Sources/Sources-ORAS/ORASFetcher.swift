#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP

/// Fetches `oci` sources the way `oras pull` does: resolve the reference to a manifest (picking the
/// plan's platform from an index), choose the layer titled with the package's file name, and open that
/// blob. The stream promises the layer's digest and size (the runner checks both) and names the digest
/// as its version, so a retry resumes only bytes of this very blob.
public struct ORASFetcher: Fetcher {
    /// The registry calls.
    public let client: RegistryClient
    /// Index → manifest hops allowed (an index of indexes is legal but rare; a loop is not).
    public var maxIndexDepth = 3

    /// A fetcher over `client`.
    public init(client: RegistryClient) { self.client = client }

    /// A fetcher over `transport`, with its own registry client; `hosts` names mirrors (hosts.toml).
    public init(transport: CurlTransport, credentials: any CredentialStore = AnonymousCredentialStore(),
                schemes: RegistrySchemePolicy = RegistrySchemePolicy(), stallTimeout: Duration = .seconds(30),
                hosts: RegistryHosts? = nil) {
        client = RegistryClient(transport: transport, credentials: credentials, schemes: schemes, stallTimeout: stallTimeout,
                                hosts: hosts)
    }

    /// How its failures are numbered and named: the registry codes, under the names scripts match
    /// (`artifact-not-found` 32, `registry-unauthorized` 31, `oras-pull-failed` 30).
    public static let failures = FailureFamily(codes: .registry, notFound: "artifact-not-found", unauthorized: "registry-unauthorized",
                                               unavailable: "oras-pull-failed")

    /// A blob (and the storage a registry redirects it to) serves byte ranges.
    public var servesRanges: Bool { true }

    /// Opens the layer titled with the package's file name as a stream whose validator is its digest.
    /// A segment (a request with a length) names its blob by the digest already: it is opened without
    /// asking for the manifest again.
    public func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        if let length = request.length, case .digest(let digest)? = request.validator {
            let reference = try Reference(parsing: request.source.location)
            return try await client.openBlob(reference, digest: digest, offset: request.offset, length: length,
                                             deadline: context.deadline, events: context.events)
        }
        let layer = try await chosenLayer(for: request.source, context: context)
        let (reference, digest) = (layer.reference, layer.digest)
        // Bytes staged from another blob (the tag moved) are not continued: this blob from its start.
        let offset = request.validator == .digest(digest) ? request.offset : 0
        if offset > 0, offset == layer.size {
            return FetchedStream(offset: offset, size: layer.size, digest: digest, validator: .digest(digest), body: .bytes(Data()))
        }
        var stream = try await client.openBlob(reference, digest: digest, offset: offset, deadline: context.deadline,
                                               events: context.events)
        stream.size = layer.size
        stream.digest = digest
        stream.format = layer.isPackedDirectory ? .tarGzip : nil
        return stream
    }

    /// The image manifest for the reference: itself, or the entry of its index for the plan's platform
    /// (`--platform`, else the one the URL names, else this machine's); with the reference pinned to
    /// that manifest's digest.
    func imageManifest(for reference: Reference, source: Source, context: FetchContext) async throws
        -> (manifest: ImageManifest, pinned: Reference) {
        var current = reference
        for _ in 0...maxIndexDepth {
            let started = ContinuousClock.now
            let fetched = try await client.manifest(current, deadline: context.deadline, events: context.events)
            context.events.emit(task: "oci-manifest", source: source, bytes: Int64(fetched.size), since: started, outcome: "ok",
                                servedBy: fetched.servedBy)
            switch fetched.document {
            case .manifest(let manifest):
                return (manifest, current.pinned(to: fetched.digest))
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

extension FailureClassification {
    /// For a registry (`oras-…`, `registry-…`, `artifact-…` exit codes).
    public static let registry = FailureClassification(scheme: "oci", family: ORASFetcher.failures)
}
