import CSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The file-system operations install relies on, in one place, so a Windows build changes only this
/// type: rename over an existing file, swap two directories, remove trees.
public enum FileSystem {
    /// Renames `from` to `to`, replacing a file at `to` atomically.
    public static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw PkgfetchError(.destinationIO, "cannot rename into \(to): \(errorText())")
        }
    }

    /// Swaps two directories in one step where the kernel supports it (Linux renameat2 with
    /// RENAME_EXCHANGE); returns false when it does not, and the caller falls back to two renames.
    public static func exchange(_ a: String, _ b: String) -> Bool {
        csystem_rename_exchange(a, b) == 0
    }

    /// Creates `path` and its missing ancestors; throws `destination-io`.
    public static func createDirectories(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw PkgfetchError(.destinationIO, "cannot create directory \(path): \(describe(error))")
        }
    }

    /// Forces the entries of directory `path` (the renames into it) to disk.
    public static func syncDirectory(_ path: String) throws {
        try withDescriptor(path) { fsync($0) }
    }

    /// Forces everything written on the file system holding `path` to disk (syncfs): one call for a
    /// whole unpacked tree instead of an fsync per file.
    public static func syncFileSystem(containing path: String) throws {
        try withDescriptor(path) { csystem_syncfs($0) }
    }

    private static func withDescriptor(_ path: String, _ body: (Int32) -> Int32) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw PkgfetchError(.destinationIO, "cannot open \(path) to sync it: \(errorText())") }
        defer { close(descriptor) }
        guard body(descriptor) == 0 else { throw PkgfetchError(.destinationIO, "cannot sync \(path): \(errorText())") }
    }

    /// Removes a file or a tree; a missing path is not an error.
    public static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// What a path is.
    public enum Kind: Equatable { case missing, file, directory, symlink, other }

    /// What is at `path`, without following a final symlink.
    public static func kind(_ path: String) -> Kind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// The closest ancestor of `path` (or `path` itself) that exists: staging goes there so it shares
    /// the destination's file system and the final rename stays atomic.
    public static func nearestExistingDirectory(for path: String) -> String {
        var candidate = (absolute(path) as NSString).deletingLastPathComponent
        while kind(candidate) != .directory, candidate != "/" {
            candidate = (candidate as NSString).deletingLastPathComponent
        }
        return candidate
    }

    /// `path` made absolute against the working directory, standardized.
    public static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return (full as NSString).standardizingPath
    }

    static func errorText() -> String { String(cString: strerror(errno)) }

    static func describe(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let underlying = cocoa.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return (error as NSError).localizedDescription
    }
}
