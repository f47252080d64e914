#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// Whether an executable may be run as a helper. As root, only one that nobody but root could have
/// put there or changed (OpenSSH's StrictModes, git's safe.directory): the file, resolved through
/// every symlink, is a regular file owned by root and writable by nobody else; its directory is owned
/// by root and writable by nobody else (so no one can plant a `pkgfetch-fetch-*` beside it); every
/// directory above is owned by root and writable by nobody else, or is root's and sticky (`/tmp`:
/// others cannot rename or remove what root put in it). What is checked is what is run: the resolved
/// path; and each symlink followed on the way is root's, in a directory that passes the same check.
/// For any other user, the file must be an executable regular file.
enum HelperSafety {
    /// The path to run for `path`, or throws (`no-source`, exit 11) saying what is wrong.
    static func checked(_ path: String, asRoot: Bool = geteuid() == 0) throws -> String {
        guard let resolved = realpath(path, nil) else {
            throw refusal(path, "it cannot be resolved: \(String(cString: strerror(errno)))")
        }
        let real = String(cString: resolved)
        free(resolved)
        var info = stat()
        guard stat(real, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(real, X_OK) == 0 else {
            throw refusal(path, "it is not an executable file")
        }
        guard asRoot else { return real }
        if info.st_uid != 0 { throw refusal(path, "it is owned by uid \(info.st_uid), not root") }
        if info.st_mode & 0o022 != 0 { throw refusal(path, "it is writable by others (mode \(mode(info)))") }
        try checkDirectories(LexicalPath(real).parent, of: path)
        try checkLinks(from: path)
        return real
    }

    /// Every symlink followed from `path` to the file: a link is as good as the file it names only
    /// when root made it where only root could (a `pkgfetch-fetch-x -> /bin/sh` planted by another
    /// user in a directory others can write names a root-owned file, and ran as root). So each link
    /// must be root's, and the directory it sits in (as the kernel finds it) passes `checkDirectories`.
    private static func checkLinks(from path: String) throws {
        var current = LexicalPath(path)
        // The kernel gives up after 40 links (ELOOP); realpath succeeded, so fewer are followed.
        for _ in 0..<40 {
            guard let name = current.name else { return }
            guard let resolved = realpath(current.parent.string, nil) else {
                throw refusal(path, "the directory of \(current) cannot be resolved: \(String(cString: strerror(errno)))")
            }
            let directory = LexicalPath(String(cString: resolved))
            free(resolved)
            let here = LexicalPath(components: directory.components + [name])
            var info = stat()
            guard lstat(here.string, &info) == 0 else { throw refusal(path, "\(here) cannot be checked") }
            guard info.st_mode & S_IFMT == S_IFLNK else { return }
            if info.st_uid != 0 { throw refusal(path, "the symlink \(here) is owned by uid \(info.st_uid), not root") }
            try checkDirectories(directory, of: path, holding: "the symlink \(here)")
            var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(here.string, &target, target.count - 1)
            guard count > 0 else { throw refusal(path, "the symlink \(here) cannot be read") }
            let text = String(decoding: target[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = text.hasPrefix("/") ? LexicalPath(text) : LexicalPath(directory.string + "/" + text)
        }
        throw refusal(path, "it is reached through too many symlinks")
    }

    /// `directory` and every directory above it: owned by root and writable by nobody else; above the
    /// first, one writable by others is allowed when sticky (`/tmp`: others cannot rename or remove
    /// what root put in it). `holding` names what the first directory holds, for the message.
    private static func checkDirectories(_ start: LexicalPath, of path: String, holding: String? = nil) throws {
        var info = stat()
        var directory = start
        var isOwnDirectory = true
        while true {
            let which = holding.map { "the directory \(directory) of \($0)" } ?? "its directory \(directory)"
            guard lstat(directory.string, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw refusal(path, "\(which) cannot be checked")
            }
            let sticky = info.st_mode & S_ISVTX != 0
            if info.st_uid != 0 { throw refusal(path, "\(which) is owned by uid \(info.st_uid), not root") }
            if info.st_mode & 0o022 != 0, isOwnDirectory || !sticky {
                throw refusal(path, "\(which) is writable by others (mode \(mode(info)))")
            }
            if directory.isRoot { return }
            directory = directory.parent
            isOwnDirectory = false
        }
    }

    private static func mode(_ info: stat) -> String { String(info.st_mode & 0o7777, radix: 8) }

    private static func refusal(_ path: String, _ problem: String) -> PkgfetchError {
        PkgfetchError(.noFetcher, "refusing to run helper \(PrintableLine.escaping(path)): \(problem); as root, pkgfetch runs helpers only from directories only root can write")
    }
}
