#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// The manifests this process fetched, by digest: a digest is the content's address, so the same
/// repository's manifest at that digest is these very bytes, from any host. A reference is read once
/// to list its files, then once per file it fetches; each of those reads the manifest pinned by its
/// digest, and is answered here instead of by another request. Bounded by the manifests' sizes.
final class PinnedManifests: @unchecked Sendable {
    /// At most this many bytes of manifests are kept (each is at most `RegistryClient.manifestLimit`).
    static let byteLimit = 8 << 20
    // Guarded by lock.
    private let lock = Lock()
    private var known: [String: FetchedManifest] = [:]
    private var bytes = 0

    /// The manifest `reference` pins by its digest, if this process fetched it; nil for a tag alone.
    func manifest(for reference: Reference) -> FetchedManifest? {
        guard let key = Self.key(reference) else { return nil }
        return lock.withLock { known[key] }
    }

    /// Keeps `manifest`, fetched for `reference`, under its digest.
    func keep(_ manifest: FetchedManifest, for reference: Reference) {
        guard manifest.size <= Self.byteLimit, let key = Self.key(reference.pinned(to: manifest.digest)) else { return }
        lock.withLock {
            guard known[key] == nil else { return }
            if bytes + manifest.size > Self.byteLimit { (known, bytes) = ([:], 0) }
            known[key] = manifest
            bytes += manifest.size
        }
    }

    private static func key(_ reference: Reference) -> String? {
        reference.digest.map { "\(reference.registry)/\(reference.repository)@\($0)" }
    }
}
