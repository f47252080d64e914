import Foundation

/// A private directory beside the destination, on its file system, where a package is fetched and
/// unpacked before the final rename. Removed whatever happens, so nothing half-made is ever left.
public final class StagingArea: @unchecked Sendable {
    public let path: String
    /// What becomes of the files fetched here.
    public let role: StagingFile.Role

    /// Creates the staging directory in the closest existing ancestor of `destination`.
    public init(near destination: String, role: StagingFile.Role = .unpacked) throws {
        self.role = role
        let parent = FileSystem.nearestExistingDirectory(for: destination)
        let name = ".pkgfetch-staging-\(UUID().uuidString.prefix(8).lowercased())"
        path = (parent as NSString).appendingPathComponent(name)
        guard mkdir(path, 0o700) == 0 else {
            throw PkgfetchError(.destinationIO, "cannot write beside \(destination): \(parent): \(FileSystem.errorText())")
        }
    }

    /// A staging file for one source's download.
    public func file(named name: String) throws -> StagingFile {
        try StagingFile(path: (path as NSString).appendingPathComponent(name), role: role)
    }

    /// An empty directory to unpack into.
    public func directory(named name: String) throws -> String {
        let dir = (path as NSString).appendingPathComponent(name)
        FileSystem.remove(dir)
        try FileSystem.createDirectories(dir)
        return dir
    }

    public func remove() {
        FileSystem.remove(path)
    }

    deinit { remove() }
}
