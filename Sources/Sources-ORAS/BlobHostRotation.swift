#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// Which hosts a blob was already opened from in this process. A blob is opened again only when the
/// stream before was cut or stalled (a whole one is not fetched twice), so on that retry the hosts
/// that have served it least go first: a mirror that answers and then breaks off mid-blob does not
/// take every attempt of the run while the registry behind it is never asked. The first attempt
/// keeps hosts.toml's order, as containerd tries them.
final class BlobHostRotation: @unchecked Sendable {
    // Guarded by lock.
    private let lock = Lock()
    private var opened: [Pipeline.SHA256Digest: [String: Int]] = [:]

    /// `hosts` in the order to try for `digest`: fewest earlier opens first, file order among equals.
    func order(_ hosts: [RegistryHost], for digest: Pipeline.SHA256Digest) -> [RegistryHost] {
        let counts = lock.withLock { opened[digest] ?? [:] }
        guard !counts.isEmpty else { return hosts }
        return hosts.enumerated().sorted {
            (counts[$0.element.origin, default: 0], $0.offset) < (counts[$1.element.origin, default: 0], $1.offset)
        }.map(\.element)
    }

    /// `host` answered with a stream of `digest`.
    func opened(_ digest: Pipeline.SHA256Digest, from host: RegistryHost) {
        lock.withLock { opened[digest, default: [:]][host.origin, default: 0] += 1 }
    }
}
