import Foundation

/// A private directory beside the destination, on its file system, where a package is fetched and
/// unpacked before the final rename. Removed whatever happens, so nothing half-made is ever left.
public final class StagingArea: @unchecked Sendable {
    /// The staging directory.
    public let path: String
    /// What becomes of the files fetched here.
    public let role: StagingFile.Role
    /// The switch a signal stops; it removes this area then.
    private let interruption: Interruption?

    static let prefix = ".pkgfetch-staging-"

    /// Creates the staging directory in the closest existing ancestor of `destination`, named after
    /// this process (`.pkgfetch-staging-<pid>-<random>`), after removing the ones there left by a
    /// process that is gone (killed, or the machine lost power), so debris does not pile up.
    public init(near destination: String, role: StagingFile.Role = .unpacked, interruption: Interruption? = nil) throws {
        self.role = role
        self.interruption = interruption
        let parent = FileSystem.nearestExistingDirectory(for: destination)
        Self.removeAbandoned(in: parent)
        let name = "\(Self.prefix)\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
        path = (parent as NSString).appendingPathComponent(name)
        guard mkdir(path, 0o700) == 0 else {
            throw PkgfetchError(.destinationIO, "cannot write beside \(destination): \(parent): \(FileSystem.errorText())")
        }
        interruption?.register(path)
    }

    /// How long a staging directory must have gone unwritten, besides its process being gone, to be
    /// removed: a process in another pid namespace (a container sharing the directory) is not seen
    /// by `kill`, but its download keeps writing.
    static let abandonedAfter: TimeInterval = 10 * 60

    /// Removes staging directories in `parent` left by processes that no longer exist and written to
    /// by none for `abandonedAfter`. Names without a pid, and pids that answer (even with EPERM:
    /// another user's), are left alone.
    static func removeAbandoned(in parent: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0, pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            let path = (parent as NSString).appendingPathComponent(name)
            if Date().timeIntervalSince(lastWritten(path)) > abandonedAfter { FileSystem.remove(path) }
        }
    }

    /// The newest modification time of `directory` and its direct entries (a download in progress
    /// keeps its staging file's current).
    private static func lastWritten(_ directory: String) -> Date {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let paths = [directory] + entries.map { (directory as NSString).appendingPathComponent($0) }
        return paths.compactMap { try? FileManager.default.attributesOfItem(atPath: $0)[.modificationDate] as? Date }.max() ?? .distantFuture
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

    /// Removes the directory and everything in it.
    public func remove() {
        FileSystem.remove(path)
        interruption?.unregister(path)
    }

    deinit { remove() }
}
