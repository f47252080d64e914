import Foundation
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
/// path. For any other user, the file must be an executable regular file.
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
        // On bytes (LexicalPath): NSString's deletingLastPathComponent traps on a name like "/é".
        var directory = LexicalPath(real).parent
        var isOwnDirectory = true
        while true {
            guard lstat(directory.string, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw refusal(path, "its directory \(directory) cannot be checked")
            }
            let sticky = info.st_mode & S_ISVTX != 0
            if info.st_uid != 0 { throw refusal(path, "its directory \(directory) is owned by uid \(info.st_uid), not root") }
            if info.st_mode & 0o022 != 0, isOwnDirectory || !sticky {
                throw refusal(path, "its directory \(directory) is writable by others (mode \(mode(info)))")
            }
            if directory.isRoot { return real }
            directory = directory.parent
            isOwnDirectory = false
        }
    }

    private static func mode(_ info: stat) -> String { String(info.st_mode & 0o7777, radix: 8) }

    private static func refusal(_ path: String, _ problem: String) -> PkgfetchError {
        PkgfetchError(.noFetcher, "refusing to run helper \(PrintableLine.escaping(path)): \(problem); as root, pkgfetch runs helpers only from directories only root can write")
    }
}
