#if canImport(Glibc)
import Glibc
#endif

/// ssh's StrictModes rule: a file or directory no user but root and us can write, because it is owned
/// by one of them and writable by neither its group nor others.
enum StrictModes {
    /// What lets another user write `info` (of `path`); nil when nobody but root or us can.
    static func problem(_ info: stat, _ path: LexicalPath) -> String? {
        if info.st_uid != 0 && info.st_uid != geteuid() { return "\(path) is owned by uid \(info.st_uid)" }
        if info.st_mode & (S_IWGRP | S_IWOTH) != 0 { return "\(path) is writable by \(info.st_mode & S_IWOTH != 0 ? "others" : "its group")" }
        return nil
    }

    /// Whether the open regular file `descriptor` (found at `path`) and the directory holding it pass
    /// the rule: then only root or we could change its bytes while we read them. A file that fails it
    /// may be rewritten at any moment (through a shared `mmap`, which changes neither its size nor
    /// its times), so what is read of it twice may differ.
    static func onlyRootOrUsCanWrite(_ descriptor: Int32, at path: String) -> Bool {
        var file = stat(), directory = stat()
        let lexical = LexicalPath(path)
        guard fstat(descriptor, &file) == 0, problem(file, lexical) == nil,
              stat(lexical.parent.string, &directory) == 0, problem(directory, lexical.parent) == nil else { return false }
        return true
    }
}
