import Foundation
import Synchronization

/// A private directory (mode 0700) beside the destination, on its file system, where a package is
/// fetched and unpacked before the final rename. Removed whatever happens, so nothing half-made is
/// ever left; a removal that fails is reported, not swallowed.
public final class StagingArea: @unchecked Sendable {
    /// The staging directory.
    public let path: String
    /// What becomes of the files fetched here.
    public let role: StagingFile.Role
    // Only read after init; their descriptors go to system calls, which the kernel serialises.
    private let parent: DirectoryHandle
    private let handle: DirectoryHandle
    private let name: [UInt8]
    private let removed = Atomic(false)
    /// The switch a signal stops; it removes this area then.
    private let interruption: Interruption?

    static let prefix = ".pkgfetch-staging-"

    /// Creates the staging directory for an install to `target`, named after this process
    /// (`.pkgfetch-staging-<pid>-<random>`), after removing the ones there left by a process that is
    /// gone (killed, or the machine lost power), so debris does not pile up.
    public convenience init(for target: InstallTarget, role: StagingFile.Role = .unpacked, interruption: Interruption? = nil) throws {
        try self.init(in: Self.placement(for: target), for: target.path, role: role, interruption: interruption)
    }

    /// As `init(for:)`, for a file to be installed at `destination`.
    public convenience init(near destination: String, role: StagingFile.Role = .unpacked, interruption: Interruption? = nil) throws {
        try self.init(for: .file(path: destination), role: role, interruption: interruption)
    }

    private init(in parent: DirectoryHandle, for destination: String, role: StagingFile.Role, interruption: Interruption?) throws {
        self.role = role
        self.interruption = interruption
        Self.removeAbandoned(in: parent)
        let name = Array("\(Self.prefix)\(getpid())-\(UUID().uuidString.prefix(8).lowercased())".utf8)
        do {
            try parent.makeDirectory(name, mode: 0o700)
        } catch {
            throw PkgfetchError(.destinationIO, "cannot write beside \(destination): \(parent.path): \(FileSystem.errorText())")
        }
        self.parent = parent
        self.name = name
        handle = try parent.openDirectory(name)
        path = parent.child(name).string
        interruption?.register(path)
    }

    /// Where staging goes: on the destination's file system, so the final rename stays atomic. That is
    /// the closest existing ancestor of the destination; for a merge into an existing directory (through
    /// a symlink the protected-symlinks rule lets us follow, too), that directory's parent. A symlink on
    /// the way that may not be followed is refused here, before anything is fetched.
    static func placement(for target: InstallTarget) throws -> DirectoryHandle {
        let destination = LexicalPath(target.path)
        if target.mergesIntoDirectory {
            let reached = try PathWalk.walk(destination)
            guard reached.missing.isEmpty else { return reached.directory }
            return try reached.directory.openParent(as: reached.directory.path.parent)
        }
        return try PathWalk.walk(destination.parent).directory
    }

    /// How long a staging directory must have gone unwritten, besides its process being gone, to be
    /// removed: a process in another pid namespace (a container sharing the directory) is not seen
    /// by `kill`, but its download keeps writing.
    static let abandonedAfter: TimeInterval = 10 * 60

    /// Removes staging directories in `parent` left by processes that no longer exist and written to
    /// by none for `abandonedAfter`. Only directories that can be ours are touched: owned by us, mode
    /// 0700, opened without following a symlink and emptied through that handle, so a name swapped
    /// meanwhile cannot point the removal elsewhere. Names without a pid, and pids that answer (even
    /// with EPERM: another user's), are left alone. Best effort: what cannot be removed stays.
    static func removeAbandoned(in parent: DirectoryHandle) {
        let prefixBytes = Array(prefix.utf8)
        guard let entries = try? parent.entries() else { return }
        for (name, kind) in entries where kind == .directory && name.starts(with: prefixBytes) {
            let pidText = String(decoding: name.dropFirst(prefixBytes.count).prefix { $0 != UInt8(ascii: "-") }, as: UTF8.self)
            guard let pid = Int32(pidText), pid > 0, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH,
                  let directory = try? parent.openDirectory(name), let info = try? directory.status(),
                  info.st_uid == geteuid(), info.st_mode & 0o7777 == 0o700,
                  Date().timeIntervalSince(lastWritten(directory, info)) > abandonedAfter else { continue }
            if (try? directory.removeContents()) != nil { try? parent.unlink(name, directory: true) }
        }
    }

    /// The newest modification time of `directory` and its direct entries (a download in progress
    /// keeps its staging file's current).
    private static func lastWritten(_ directory: DirectoryHandle, _ info: stat) -> Date {
        var newest = info.st_mtim.tv_sec
        for (name, _) in (try? directory.entries()) ?? [] {
            guard let entry = try? directory.status(of: name) else { return .distantFuture }
            newest = max(newest, entry.st_mtim.tv_sec)
        }
        return Date(timeIntervalSince1970: TimeInterval(newest))
    }

    /// A staging file for one source's download.
    public func file(named name: String) throws -> StagingFile {
        try StagingFile(path: (path as NSString).appendingPathComponent(name), role: role)
    }

    /// An empty directory to unpack into (mode 0755 at most: it becomes the destination directory
    /// when there was none, or on `--replace`).
    public func directory(named name: String) throws -> String {
        let bytes = Array(name.utf8)
        try handle.removeTree(bytes)
        try handle.makeDirectory(bytes, mode: 0o755)
        return handle.child(bytes).string
    }

    /// Removes the staging directory and everything in it (any depth), relative to directory handles.
    /// Runs once; a second call does nothing. Throws when something could not be removed.
    public func remove() throws {
        guard !removed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        defer { interruption?.unregister(path) }
        do {
            try handle.removeContents()
            // By name, but only an empty directory: whatever might stand there now loses nothing.
            if try parent.kind(of: name) != .missing { try parent.unlink(name, directory: true) }
        } catch {
            throw PkgfetchError(.destinationIO, "cannot remove the staging directory \(path): \(PkgfetchError.from(error).message)")
        }
    }

    deinit { try? remove() }
}
