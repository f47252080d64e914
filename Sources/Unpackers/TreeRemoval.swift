#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Empties a directory of everything in it, however deep, relative to directory handles: one open
/// directory at a time (a deep tree would otherwise run out of descriptors), entered with `O_NOFOLLOW`,
/// left through `..` only after checking that `..` is still the directory it came from, so a tree of
/// any depth goes, path lengths never matter, and a symlink inside is removed, never followed.
/// Directories without write or search permission are opened up first (0700): archives can make
/// them, and the unpacker owns them.
///
/// The unpacker's own clean-up after a refused or failed archive. (The staging directory around it is
/// removed by the caller's code; the two do the same work and belong together.)
enum TreeRemoval {
    struct Failure: Error {
        /// What failed, relative to the emptied directory, e.g. `cannot remove "a/b": Permission denied`.
        let message: String
    }

    /// Removes everything inside the directory open at `descriptor`, leaving it empty.
    static func removeContents(of descriptor: Int32) throws(Failure) {
        // The directories entered, outermost first: name in its parent, and identity, to check `..`.
        var entered: [(name: [UInt8], device: dev_t, inode: ino_t)] = []
        var current = dup(descriptor)
        guard current >= 0 else { throw failure("cannot open the directory to empty it", errno) }
        defer { close(current) }
        while true {
            switch try firstRemaining(in: current, path: entered.map(\.name)) {
            case .directory(let name):
                let opened = open(name, in: current)
                let child = opened >= 0 ? opened : try openedAfterChmod(name, in: current, path: entered.map(\.name))
                var info = stat()
                guard fstat(child, &info) == 0 else {
                    close(child)
                    throw failure("cannot inspect \(shown(entered.map(\.name) + [name]))", errno)
                }
                close(current)
                current = child
                entered.append((name, info.st_dev, info.st_ino))
            case nil:
                // `current` is empty: go up and remove it, unless it is the directory we were given.
                guard let left = entered.popLast() else { return }
                let parent = openat(current, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard parent >= 0 else { throw failure("cannot go back up from \(shown(entered.map(\.name) + [left.name]))", errno) }
                close(current)
                current = parent
                var check = stat()
                let expected = entered.last.map { ($0.device, $0.inode) } ?? identity(of: descriptor)
                guard fstat(current, &check) == 0, let expected, check.st_dev == expected.0, check.st_ino == expected.1 else {
                    throw Failure(message: "the directory above \(shown(entered.map(\.name) + [left.name])) changed while it was being emptied")
                }
                try remove(left.name, in: current, flags: AT_REMOVEDIR, path: entered.map(\.name))
            }
        }
    }

    /// Removes every non-directory in the directory open at `directory` and returns the first
    /// subdirectory left, or nil when the directory is empty.
    private static func firstRemaining(in directory: Int32, path: [[UInt8]]) throws(Failure) -> Kind? {
        guard let stream = fdopendir(dup(directory)) else { throw failure("cannot list \(shown(path))", errno) }
        defer { closedir(stream) }
        // The duplicate shares the descriptor's offset, which an earlier listing left at the end.
        rewinddir(stream)
        while let item = readdir(stream) {
            let name = PathBytes.name(of: item)
            if PathBytes.isSelfOrParent(name) { continue }
            var info = stat()
            guard PathBytes.withCString(name, { fstatat(directory, $0, &info, AT_SYMLINK_NOFOLLOW) }) == 0 else {
                throw failure("cannot inspect \(shown(path + [name]))", errno)
            }
            if info.st_mode & S_IFMT == S_IFDIR { return .directory(name) }
            try remove(name, in: directory, flags: 0, path: path)
        }
        return nil
    }

    private enum Kind { case directory([UInt8]) }

    /// Unlinks `name`; when the directory holding it was left without write permission (a 0o555
    /// directory of the archive), opens it up (0700) and tries once more.
    private static func remove(_ name: [UInt8], in directory: Int32, flags: Int32, path: [[UInt8]]) throws(Failure) {
        if PathBytes.withCString(name, { unlinkat(directory, $0, flags) }) == 0 { return }
        let code = errno
        guard code == EACCES || code == EPERM, fchmod(directory, 0o700) == 0,
              PathBytes.withCString(name, { unlinkat(directory, $0, flags) }) == 0 else {
            throw failure("cannot remove \(shown(path + [name]))", code)
        }
    }

    private static func open(_ name: [UInt8], in directory: Int32) -> Int32 {
        PathBytes.withCString(name) { openat(directory, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
    }

    /// A directory the archive left without search or read permission (0o000, 0o300): open it up.
    private static func openedAfterChmod(_ name: [UInt8], in directory: Int32, path: [[UInt8]]) throws(Failure) -> Int32 {
        let code = errno
        guard code == EACCES, PathBytes.withCString(name, { fchmodat(directory, $0, 0o700, 0) }) == 0 else {
            throw failure("cannot open \(shown(path + [name]))", code)
        }
        let opened = open(name, in: directory)
        guard opened >= 0 else { throw failure("cannot open \(shown(path + [name]))", errno) }
        return opened
    }

    private static func identity(of descriptor: Int32) -> (dev_t, ino_t)? {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? (info.st_dev, info.st_ino) : nil
    }

    private static func shown(_ path: [[UInt8]]) -> String {
        UnpackFailure.quoted(PathBytes.joined(path))
    }

    private static func failure(_ what: String, _ code: Int32) -> Failure {
        Failure(message: "\(what): \(String(cString: strerror(code)))")
    }
}
