/// What this extraction has created under the directory, by relative path (`a/b/c`).
///
/// The directory starts empty and nothing else writes to it while an archive is unpacked, so this map
/// is the truth about it: whether a path's parents are real directories, what a name already is, and
/// where a symlink leads are answered here rather than with `lstat` and `readlink` on every entry.
struct ExtractedTree {
    enum Node: Equatable {
        case directory
        case file
        case symlink(target: String)
    }

    private var nodes: [String: Node] = [:]
    /// Every symlink created, in order, for the check once all entries are in.
    private(set) var symlinkPaths: [String] = []

    subscript(path: String) -> Node? {
        nodes[path]
    }

    mutating func record(_ node: Node, at path: String) {
        nodes[path] = node
        if case .symlink = node { symlinkPaths.append(path) }
    }

    mutating func forget(_ path: String) {
        nodes[path] = nil
    }

    /// The parents of `components` that do not exist yet, outermost first. Refuses a path that goes
    /// through a symlink (even one pointing inside: that is how `dir -> .` and `link -> /tmp` tricks
    /// reach outside) or through a file.
    func missingParents(of components: [String], entry: String) throws -> [String] {
        var missing: [String] = []
        var path = ""
        for component in components.dropLast() {
            path = path.isEmpty ? component : path + "/" + component
            switch nodes[path] {
            case .directory?: continue
            case nil: missing.append(path)
            case .symlink?:
                throw UnpackFailure.unsafe(entry: entry, "it would be written through the symlink \(UnpackFailure.quoted(path))")
            case .file?:
                throw UnpackFailure.unsafe(entry: entry, "it would be written below the file \(UnpackFailure.quoted(path))")
            }
        }
        return missing
    }

    /// Follows `target` from the directory holding a symlink at `components`, through the symlinks
    /// created so far, the way the kernel resolves it. Returns why it leaves the directory (or loops),
    /// or nil when it stays inside. Absolute and backslash targets are refused before this is asked.
    func escape(ofSymlinkAt components: [String], target: String) -> String? {
        var resolved = Array(components.dropLast())
        // Components still to walk, next one last.
        var pending = target.split(separator: "/").reversed().map(String.init)
        var followed = 0
        while let component = pending.popLast() {
            switch component {
            case ".":
                continue
            case "..":
                guard !resolved.isEmpty else {
                    return "its target \(UnpackFailure.quoted(target)) leads outside the directory"
                }
                resolved.removeLast()
            default:
                resolved.append(component)
                guard case .symlink(let next)? = nodes[resolved.joined(separator: "/")] else { continue }
                followed += 1
                // Linux gives up after 40 links (ELOOP); a loop never resolves, so it is refused too.
                guard followed <= 40 else {
                    return "its target \(UnpackFailure.quoted(target)) never resolves (a symlink loop)"
                }
                guard EntryPathPolicy.refusal(ofSymlinkTarget: next) == nil else {
                    return "its target \(UnpackFailure.quoted(target)) goes through a refused symlink"
                }
                resolved.removeLast()
                pending.append(contentsOf: next.split(separator: "/").reversed().map(String.init))
            }
        }
        return nil
    }
}
