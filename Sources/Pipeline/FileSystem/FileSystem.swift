import CSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The file-system operations install relies on, in one place, so a Windows build changes only this
/// type and the ones it is made of (`DirectoryHandle`, `PathWalk`, `DirectoryCursor`, `TreeRemoval`):
/// rename over an existing file, swap two directories, remove trees, all relative to directory handles.
package enum FileSystem {
    /// Renames `from` to `to`, replacing a file at `to` atomically.
    package static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw PkgfetchError(.destinationIO, "cannot rename into \(to): \(errorText())")
        }
    }

    /// Forces the entries of directory `path` (the renames into it) to disk.
    package static func syncDirectory(_ path: String) throws {
        try withDescriptor(path) { fsync($0) }
    }

    /// Forces everything written on the file system holding `path` to disk (syncfs): one call for a
    /// whole unpacked tree instead of an fsync per file.
    package static func syncFileSystem(containing path: String) throws {
        try withDescriptor(path) { csystem_syncfs($0) }
    }

    private static func withDescriptor(_ path: String, _ body: (Int32) -> Int32) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw PkgfetchError(.destinationIO, "cannot open \(path) to sync it: \(errorText())") }
        defer { close(descriptor) }
        guard body(descriptor) == 0 else { throw PkgfetchError(.destinationIO, "cannot sync \(path): \(errorText())") }
    }

    /// Removes the file or tree at `path` (a missing one is fine), relative to directory handles: the
    /// directories above it are walked as `PathWalk` does, and nothing below it is followed.
    package static func removeTree(_ path: String) throws {
        let target = LexicalPath(path)
        guard let name = target.name else { throw PkgfetchError(.destinationIO, "refusing to remove /") }
        let reached = try PathWalk.walk(target.parent)
        guard reached.missing.isEmpty else { return }
        try reached.directory.removeTree(name)
    }

    /// Empties the open directory `descriptor` (which stays open and the caller's) of everything in it,
    /// at any depth, never following a symlink inside: the unpacker's clean-up after a refused archive.
    package static func removeContents(ofDirectory descriptor: Int32) throws {
        try DirectoryHandle(duplicating: descriptor).removeContents()
    }

    /// Removes entry `name` of the open directory `descriptor` (which stays open and the caller's), and
    /// everything below it: for code that works relative to a directory handle of its own.
    package static func removeTree(named name: String, in descriptor: Int32) throws {
        try DirectoryHandle(duplicating: descriptor).removeTree(Array(name.utf8))
    }

    /// What a path is.
    package enum Kind: Equatable {
        /// Nothing is there.
        case missing
        /// A regular file.
        case file
        /// A directory.
        case directory
        /// A symbolic link (not followed).
        case symlink
        /// A device, socket or FIFO.
        case other
    }

    /// What is at `path`, without following a final symlink.
    package static func kind(_ path: String) -> Kind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        return Kind(info)
    }

    /// `path` made absolute and normalised lexically (see `LexicalPath`): no symlink is read.
    package static func absolute(_ path: String) -> String { LexicalPath(path).string }

    static func errorText() -> String { String(cString: strerror(errno)) }

    /// Why nothing could be created in the open directory `descriptor`, just after it failed (errno):
    /// on a virtual file system (/proc, /sys) the kernel's answer (ENOENT for a directory that is
    /// there) misleads, so that is named instead.
    static func creationFailure(in descriptor: Int32) -> String {
        let code = errno
        if let name = virtualFileSystems[Int64(csystem_fs_type(descriptor))] {
            return "a \(name) file system, where files cannot be created"
        }
        return String(cString: strerror(code))
    }

    /// File systems the kernel makes up (statfs f_type): nothing can be installed there.
    private static let virtualFileSystems: [Int64: String] = [0x9FA0: "proc", 0x6265_6572: "sysfs", 0x1CD1: "devpts",
                                                              0x6367_7270: "cgroup2", 0x27E0EB: "cgroup", 0x7363_6673: "securityfs"]

    static func describe(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let underlying = cocoa.userInfo["NSUnderlyingError"] as? POSIXError {
            return String(cString: strerror(underlying.code.rawValue))
        }
        if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        return "\(error)"
    }
}
