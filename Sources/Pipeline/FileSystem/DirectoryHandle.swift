import CSystem
#if canImport(Glibc)
import Glibc
#endif

/// An open directory. Every operation names an entry relative to it and never follows a symlink in
/// that entry's place, so a path component checked once cannot be swapped for a link before it is used.
final class DirectoryHandle {
    let descriptor: Int32
    /// The path it was reached by: for messages, and to name staging files to code that takes paths.
    let path: LexicalPath

    private init(descriptor: Int32, path: LexicalPath) {
        self.descriptor = descriptor
        self.path = path
    }

    /// A handle of our own on the directory open as `descriptor`, which stays the caller's.
    convenience init(duplicating descriptor: Int32) throws {
        let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw PkgfetchError(.destinationIO, "cannot use directory descriptor \(descriptor): \(FileSystem.errorText())") }
        self.init(descriptor: copy, path: LexicalPath(Self.pathOf(descriptor: copy)))
    }

    deinit { close(descriptor) }

    /// Where the kernel says an open descriptor is, for messages only.
    private static func pathOf(descriptor: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/fd/\(descriptor)", &buffer, buffer.count - 1)
        return count > 0 ? String(cString: buffer) : "/(directory \(descriptor))"
    }

    static func root() throws -> DirectoryHandle {
        let descriptor = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open", LexicalPath(components: [])) }
        return DirectoryHandle(descriptor: descriptor, path: LexicalPath(components: []))
    }

    func child(_ name: [UInt8]) -> LexicalPath { LexicalPath(components: path.components + [name]) }

    /// The directory `name` in this one; a symlink there is refused (ELOOP), not followed.
    func openDirectory(_ name: [UInt8]) throws -> DirectoryHandle {
        let descriptor = Self.withCName(name) { openat(self.descriptor, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard descriptor >= 0 else { throw Self.failure("open directory", child(name)) }
        return DirectoryHandle(descriptor: descriptor, path: child(name))
    }

    /// The directory above this one (`..`, as the kernel sees it), named `path`.
    func openParent(as path: LexicalPath) throws -> DirectoryHandle {
        let descriptor = openat(self.descriptor, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.failure("open directory", path) }
        return DirectoryHandle(descriptor: descriptor, path: path)
    }

    /// The file `name`, opened read-only without following a symlink there (nor blocking on a FIFO:
    /// the caller checks that it is a regular file).
    func openFile(_ name: [UInt8]) throws -> Int32 {
        let flags = O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC
        let descriptor = Self.withCName(name) { openat(self.descriptor, $0, flags) }
        guard descriptor >= 0 else { throw Self.failure("open", child(name)) }
        return descriptor
    }

    /// This directory's own status (owner, mode, device and inode).
    func status() throws -> stat {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw Self.failure("stat", path) }
        return info
    }

    /// The status of entry `name` itself (a symlink's own, not its target's); nil when there is none.
    func status(of name: [UInt8]) throws -> stat? {
        var info = stat()
        let result = Self.withCName(name) { fstatat(descriptor, $0, &info, AT_SYMLINK_NOFOLLOW) }
        if result == 0 { return info }
        if errno == ENOENT { return nil }
        throw Self.failure("stat", child(name))
    }

    func kind(of name: [UInt8]) throws -> FileSystem.Kind { FileSystem.Kind(try status(of: name)) }

    /// A symlink's status and target, read through one handle on the link itself, so the two match.
    func readLink(_ name: [UInt8]) throws -> (status: stat, target: [UInt8]) {
        let link = Self.withCName(name) { openat(descriptor, $0, csystem_O_PATH | O_NOFOLLOW | O_CLOEXEC) }
        guard link >= 0 else { throw Self.failure("open", child(name)) }
        defer { close(link) }
        var info = stat()
        guard fstat(link, &info) == 0 else { throw Self.failure("stat", child(name)) }
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlinkat(link, "", &buffer, buffer.count)
        guard count >= 0 else { throw Self.failure("read the symlink", child(name)) }
        guard count < buffer.count else { throw PkgfetchError(.destinationIO, "the symlink \(child(name)) is too long") }
        return (info, Array(buffer[..<count]))
    }

    /// Creates directory `name`; an existing one is an error (EEXIST) for the caller to judge.
    func makeDirectory(_ name: [UInt8], mode: mode_t = 0o777) throws {
        guard Self.withCName(name, { mkdirat(descriptor, $0, mode) }) == 0 else { throw Self.failure("create directory", child(name)) }
    }

    /// Renames entry `name` to `newName` in `directory`, replacing what is there (a symlink there is
    /// replaced itself, as `mv -T` does; its target is untouched).
    func rename(_ name: [UInt8], to directory: DirectoryHandle, as newName: [UInt8]) throws {
        let result = Self.withCName(name) { from in Self.withCName(newName) { to in renameat(descriptor, from, directory.descriptor, to) } }
        guard result == 0 else { throw Self.failure("rename \(child(name)) to", directory.child(newName)) }
    }

    /// Swaps entries `name` here and `other` in `directory` in one step (renameat2 RENAME_EXCHANGE).
    /// Returns false when the kernel or file system cannot, and the caller falls back to two renames.
    func exchange(_ name: [UInt8], with other: [UInt8], in directory: DirectoryHandle) throws -> Bool {
        let result = Self.withCName(name) { a in Self.withCName(other) { b in csystem_exchange_at(descriptor, a, directory.descriptor, b) } }
        if result == 0 { return true }
        if errno == EINVAL || errno == ENOSYS || errno == ENOTSUP { return false }
        throw Self.failure("swap \(child(name)) with", directory.child(other))
    }

    /// Makes `newName` in `directory` a second name of entry `name` (a symlink itself, never its target).
    /// Returns false when the file system or the hard-link policy refuses one (no hard links, a file
    /// of another user under `fs.protected_hardlinks`, an immutable file): the caller moves the entry instead.
    func link(_ name: [UInt8], to directory: DirectoryHandle, as newName: [UInt8]) throws -> Bool {
        let result = Self.withCName(name) { from in Self.withCName(newName) { to in linkat(descriptor, from, directory.descriptor, to, 0) } }
        if result == 0 { return true }
        if [EPERM, EMLINK, EXDEV, EOPNOTSUPP, ENOSYS].contains(errno) { return false }
        throw Self.failure("link \(child(name)) as", directory.child(newName))
    }

    /// The content of the regular file `name`, of at most `limit` bytes; nil when there is none. A
    /// symlink there, or anything that is not a regular file, or a larger file, is an error.
    func readFile(_ name: [UInt8], limit: Int) throws -> [UInt8]? {
        guard try status(of: name) != nil else { return nil }
        let file = try openFile(name)
        defer { close(file) }
        var info = stat()
        guard fstat(file, &info) == 0 else { throw Self.failure("stat", child(name)) }
        guard info.st_mode & S_IFMT == S_IFREG, info.st_size <= limit else {
            throw PkgfetchError(.destinationIO, "\(child(name)) is not a regular file of at most \(limit) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(file, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw Self.failure("read", child(name)) }
            if count == 0 { break }
            filled += count
        }
        return Array(bytes[..<filled])
    }

    /// Writes `bytes` as the file `name` (mode 0600), whole or not at all: written under a temporary
    /// name, then renamed over `name`. `durable`: the file and then this directory are forced to disk.
    func writeFile(_ name: [UInt8], _ bytes: [UInt8], durable: Bool) throws {
        let temporary = name + Array(".tmp".utf8)
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC
        let file = Self.withCName(temporary) { openat(descriptor, $0, flags, 0o600) }
        guard file >= 0 else { throw Self.failure("create", child(temporary)) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(file, $0.baseAddress! + written, $0.count - written) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                let failure = Self.failure("write", child(temporary))
                close(file)
                throw failure
            }
            written += count
        }
        let synced = !durable || fsync(file) == 0
        let failure = synced ? nil : Self.failure("sync", child(temporary))
        close(file)
        if let failure { throw failure }
        try rename(temporary, to: self, as: name)
        if durable { try sync() }
    }

    /// Forces entry `name` (a file's content, or a directory's entries) to disk.
    func sync(_ name: [UInt8]) throws {
        let entry = Self.withCName(name) { openat(descriptor, $0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        guard entry >= 0 else { throw Self.failure("open", child(name)) }
        defer { close(entry) }
        guard fsync(entry) == 0 else { throw Self.failure("sync", child(name)) }
    }

    /// Removes entry `name`: an empty directory when `directory`, else anything else (a symlink itself).
    func unlink(_ name: [UInt8], directory: Bool) throws {
        let result = Self.withCName(name) { unlinkat(descriptor, $0, directory ? AT_REMOVEDIR : 0) }
        guard result == 0 else { throw Self.failure("remove", child(name)) }
    }

    /// Lets us change this directory's entries when its mode does not (an archive's read-only directory).
    func makeWritable() {
        _ = fchmod(descriptor, 0o700)
    }

    func sync() throws {
        guard fsync(descriptor) == 0 else { throw Self.failure("sync", path) }
    }

    /// The directory's entries except `.` and `..`, with their kinds (from the directory itself when it
    /// says, else from fstatat).
    func entries() throws -> [(name: [UInt8], kind: FileSystem.Kind)] {
        let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0, let stream = fdopendir(copy) else {
            let failure = Self.failure("read directory", path)
            if copy >= 0 { close(copy) }
            throw failure
        }
        defer { closedir(stream) }
        // The copy shares the position of earlier reads through this handle: start from the top.
        rewinddir(stream)
        var result: [(name: [UInt8], kind: FileSystem.Kind)] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw Self.failure("read directory", path) }
                return result
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            let kind: FileSystem.Kind = switch Int32(entry.pointee.d_type) {
            case Int32(DT_REG): .file
            case Int32(DT_DIR): .directory
            case Int32(DT_LNK): .symlink
            case Int32(DT_UNKNOWN): try self.kind(of: name)
            default: .other
            }
            result.append((name, kind))
        }
    }

    /// Calls `body` with `name` as a C string. A name holding `/` or NUL (which the kernel would read
    /// as a path or cut short) is passed as "" so the call fails (ENOENT) instead of reaching elsewhere.
    static func withCName<T>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
        let safe = name.contains(0) || name.contains(UInt8(ascii: "/")) ? [0] : name + [0]
        return safe.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    static func failure(_ what: String, _ path: LexicalPath) -> PkgfetchError {
        PkgfetchError(.destinationIO, "cannot \(what) \(path): \(FileSystem.errorText())")
    }
}

extension FileSystem.Kind {
    init(_ status: stat?) {
        guard let status else {
            self = .missing
            return
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG: self = .file
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symlink
        default: self = .other
        }
    }
}
