import Foundation
import Pipeline
import Unpackers

/// A temporary directory holding an archive and, a few levels down, the empty directory it is unpacked
/// into, so that an entry escaping by `..` or an absolute path aimed at the sandbox lands where
/// `strays()` sees it.
struct Sandbox {
    let temporary: TemporaryDirectory
    let archive: String
    let target: String
    var root: String { temporary.path }

    init(archiveName: String = "package") throws {
        temporary = try TemporaryDirectory()
        archive = try temporary.path(archiveName)
        target = try temporary.path("deep/er/out", create: true)
    }

    func unpack(_ format: ArchiveFormat = .zip, limits: UnpackLimits = UnpackLimits()) async throws -> UnpackReport {
        let (archive, target) = (archive, target)
        return try await BlockingIO.shared.run { try LibarchiveUnpacker().unpack(archive, format: format, into: target, limits: limits) }
    }

    /// Everything in the sandbox that is neither the archive, nor a parent of the target, nor inside it.
    func strays() throws -> [String] {
        let allowed: Set<String> = [(archive as NSString).lastPathComponent, "deep", "deep/er", "deep/er/out"]
        var found: [String] = []
        let snapshot = try TreeSnapshot(root)
        for path in snapshot.nodes.keys.sorted() where !allowed.contains(path) && !path.hasPrefix("deep/er/out/") {
            found.append(path)
        }
        return found
    }
}
