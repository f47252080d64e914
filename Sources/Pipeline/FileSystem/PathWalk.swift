#if canImport(Glibc)
import Glibc
#endif

/// Opens a path one component at a time from `/`, each directory relative to the one before with
/// O_NOFOLLOW, so what is checked is what is used. A symlink on the way is followed only where the
/// kernel's `fs.protected_symlinks` rule would follow it, whatever that sysctl says here: not a link in
/// a sticky world-writable directory (`/tmp`) owned by neither that directory's owner nor us. That
/// keeps `/var -> /private/var` or a symlinked `/opt` working, and a link another user planted in
/// `/tmp` from steering a root process.
enum PathWalk {
    /// The kernel's limit on symlinks followed in one lookup (MAXSYMLINKS).
    static let maxLinks = 40

    /// What a walk reached: the deepest existing directory, and the components below it that do not
    /// exist (empty when the whole path does).
    struct Reached {
        var directory: DirectoryHandle
        var missing: [[UInt8]]
    }

    /// Opens the directory at `path`; every component must exist.
    static func openDirectory(_ path: LexicalPath) throws -> DirectoryHandle {
        let reached = try walk(path)
        guard reached.missing.isEmpty else {
            throw PkgfetchError(.destinationIO, "cannot open directory \(path): \(String(cString: strerror(ENOENT)))")
        }
        return reached.directory
    }

    /// Walks `path` as far as it exists. A component that exists but is not a directory (nor a link
    /// safe to follow to one) is an error, as is a missing one reached through a symlink: directories
    /// are created only where the path itself says, never at a link's target.
    static func walk(_ path: LexicalPath) throws -> Reached {
        var stack = [try DirectoryHandle.root()]
        // Components still to walk, the next one last; `viaLink` when it came from a link's target.
        var pending: [(name: [UInt8], viaLink: Bool)] = path.components.reversed().map { ($0, false) }
        var linksFollowed = 0
        while let (name, viaLink) = pending.popLast() {
            let current = stack[stack.count - 1]
            if name.isEmpty || name == [0x2E] { continue }
            if name == [0x2E, 0x2E] {
                if stack.count > 1 { stack.removeLast() }
                continue
            }
            switch try current.kind(of: name) {
            case .missing:
                if viaLink || pending.contains(where: { $0.viaLink }) {
                    throw PkgfetchError(.destinationIO, "\(current.child(name)) does not exist (reached through a symlink on the way to \(path))")
                }
                return Reached(directory: current, missing: [name] + pending.reversed().map(\.name))
            case .directory:
                stack.append(try current.openDirectory(name))
            case .symlink:
                linksFollowed += 1
                guard linksFollowed <= maxLinks else {
                    throw PkgfetchError(.destinationIO, "too many symlinks on the way to \(path)")
                }
                let target = try followableTarget(of: name, in: current)
                if target.first == UInt8(ascii: "/") { stack = [stack[0]] }
                for component in target.split(separator: UInt8(ascii: "/")).reversed() {
                    pending.append((Array(component), true))
                }
            case .file, .other:
                throw PkgfetchError(.destinationIO, "\(current.child(name)) is not a directory")
            }
        }
        return Reached(directory: stack[stack.count - 1], missing: [])
    }

    /// The target of symlink `name` in `directory`, when the protected-symlinks rule lets it be followed;
    /// else the refusal, naming the link and why.
    static func followableTarget(of name: [UInt8], in directory: DirectoryHandle) throws -> [UInt8] {
        let (link, target) = try directory.readLink(name)
        let parent = try directory.status()
        guard mayFollow(link: link, in: parent) else {
            throw PkgfetchError(.destinationIO, "refusing to follow the symlink \(directory.child(name)): it is owned by uid \(link.st_uid), "
                                    + "neither us nor the owner of \(directory.path), a sticky world-writable directory")
        }
        return target
    }

    /// The kernel's may_follow_link(): a link in a sticky world-writable directory is followed only
    /// when the follower or the directory's owner owns it.
    static func mayFollow(link: stat, in directory: stat) -> Bool {
        let stickyAndWorldWritable = mode_t(S_ISVTX) | S_IWOTH
        if directory.st_mode & stickyAndWorldWritable != stickyAndWorldWritable { return true }
        return link.st_uid == geteuid() || link.st_uid == directory.st_uid
    }
}
