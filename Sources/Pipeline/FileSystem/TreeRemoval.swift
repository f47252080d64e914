#if canImport(Glibc)
import Glibc
#endif

/// Removing a tree relative to directory handles, without recursion (any depth the tree has), never
/// following a symlink inside it (a link is removed, not what it points at). A failure is thrown; an
/// entry already gone is not one (a signal's clean-up may race the run's own).
extension DirectoryHandle {
    /// Removes entry `name`, and everything below it when it is a directory; nothing there is fine.
    func removeTree(_ name: [UInt8]) throws {
        switch try kind(of: name) {
        case .missing: return
        case .directory:
            try openDirectoryMakingWritable(name).removeContents()
            try unlink(name, directory: true)
        default:
            try unlink(name, directory: false)
        }
    }

    /// Removes everything in this directory, leaving it empty.
    func removeContents() throws {
        var cursor = DirectoryCursor(at: self)
        // Per level walked into: its subdirectories still to remove.
        var pending = [try removeFiles(in: self)]
        while !pending.isEmpty {
            if let next = pending[pending.count - 1].popLast() {
                // Gone already: a signal's clean-up may be removing the same tree.
                guard try cursor.current.kind(of: next) == .directory else { continue }
                try cursor.current.makeEnterable(next)
                try cursor.enter(next)
                pending.append(try removeFiles(in: cursor.current))
            } else {
                pending.removeLast()
                if cursor.depth > 0 {
                    let left = try cursor.leave()
                    try cursor.current.removeEntry(left, directory: true)
                }
            }
        }
    }

    /// Removes the entries of `directory` that are not directories; returns the names of those that are.
    private func removeFiles(in directory: DirectoryHandle) throws -> [[UInt8]] {
        var subdirectories: [[UInt8]] = []
        for (name, kind) in try directory.entries() {
            if kind == .directory { subdirectories.append(name) } else { try directory.removeEntry(name, directory: false) }
        }
        return subdirectories
    }

    private func openDirectoryMakingWritable(_ name: [UInt8]) throws -> DirectoryHandle {
        try makeEnterable(name)
        return try openDirectory(name)
    }

    /// An archive may hold directories we may not enter or change (mode 0500, 0000): as a user other
    /// than root, make our own such directory ours to remove first. Root needs nothing.
    fileprivate func makeEnterable(_ name: [UInt8]) throws {
        guard geteuid() != 0, let info = try status(of: name), info.st_uid == geteuid(),
              info.st_mode & S_IFMT == S_IFDIR, info.st_mode & 0o700 != 0o700 else { return }
        _ = Self.withCName(name) { fchmodat(descriptor, $0, 0o700, 0) }
    }

    /// Removes one entry of a directory inside the tree; when that directory's mode forbids it (read-only,
    /// from an archive) and it is our own, makes it writable and tries once more.
    fileprivate func removeEntry(_ name: [UInt8], directory: Bool) throws {
        let flags = directory ? AT_REMOVEDIR : 0
        if Self.withCName(name, { unlinkat(descriptor, $0, flags) }) == 0 || errno == ENOENT { return }
        guard errno == EACCES, geteuid() != 0, (try? status())?.st_uid == geteuid() else { throw Self.failure("remove", child(name)) }
        makeWritable()
        try unlink(name, directory: directory)
    }
}
