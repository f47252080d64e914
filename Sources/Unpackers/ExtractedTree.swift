#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What this extraction has created under the directory: a tree of nodes, each a component's bytes
/// under its parent's node, compared byte for byte.
///
/// The directory starts empty and nothing else writes to it while an archive is unpacked, so this tree
/// is the truth about it: whether a path's parents are real directories, what a name already is, and
/// where a symlink leads are answered here rather than with `lstat` and `readlink` on every entry.
/// Each node keeps only its own component, so memory grows with the names' total length, not with
/// their depth times their length.
struct ExtractedTree {
    typealias NodeID = Int

    enum Kind: Equatable {
        case directory
        case file
        case symlink(target: [UInt8])
        /// A file or link a later entry of the same name replaced.
        case replaced
    }

    struct Node {
        let parent: NodeID
        let name: [UInt8]
        let depth: Int
        var kind: Kind
        /// A directory's mode and time, set once everything inside it is written.
        var mode: mode_t = 0o755
        var modified: timespec?
    }

    private struct Key: Hashable {
        let parent: NodeID
        let name: [UInt8]
    }

    /// The unpack directory itself.
    static let root: NodeID = 0
    private(set) var nodes: [Node] = [Node(parent: -1, name: [], depth: 0, kind: .directory)]
    private var index: [Key: NodeID] = [:]
    /// Every symlink created, in order, for the check once all entries are in.
    private(set) var symlinks: [NodeID] = []

    subscript(id: NodeID) -> Node {
        get { nodes[id] }
        set { nodes[id] = newValue }
    }

    func child(named name: [UInt8], of parent: NodeID) -> NodeID? {
        index[Key(parent: parent, name: name)]
    }

    mutating func add(_ kind: Kind, named name: [UInt8], under parent: NodeID) -> NodeID {
        let id = nodes.count
        nodes.append(Node(parent: parent, name: name, depth: nodes[parent].depth + 1, kind: kind))
        index[Key(parent: parent, name: name)] = id
        if case .symlink = kind { symlinks.append(id) }
        return id
    }

    /// A file or link that a later entry of the same name replaces.
    mutating func replace(_ id: NodeID) {
        index[Key(parent: nodes[id].parent, name: nodes[id].name)] = nil
        nodes[id].kind = .replaced
    }

    /// The path from the directory to `id`, components joined by `/`.
    func path(of id: NodeID) -> [UInt8] {
        var chain: [NodeID] = []
        var current = id
        while current != Self.root {
            chain.append(current)
            current = nodes[current].parent
        }
        return PathBytes.joined(chain.reversed().map { nodes[$0].name })
    }

    /// Directories, deepest first, so that setting a directory's time is the last change inside its parent.
    var directoriesDeepestFirst: [NodeID] {
        nodes.indices.dropFirst().filter { nodes[$0].kind == .directory }.sorted { nodes[$0].depth > nodes[$1].depth }
    }

    /// Follows `target` from the directory `parent` (which holds a symlink), through the symlinks
    /// created so far, the way the kernel resolves it, component by component. Returns why it leaves
    /// the directory (or loops), or nil when it stays inside. Absolute and backslash targets are refused
    /// before this is asked.
    func escape(fromDirectory parent: NodeID, target: [UInt8]) -> String? {
        // The walk so far, from the directory down; nil for a component that does not exist (yet).
        var resolved: [NodeID?] = []
        var ancestor = parent
        while ancestor != Self.root {
            resolved.append(ancestor)
            ancestor = nodes[ancestor].parent
        }
        resolved.reverse()
        // Components still to walk, next one last.
        var pending = Array(EntryPathPolicy.components(ofSymlinkTarget: target).reversed())
        var followed = 0
        while let component = pending.popLast() {
            if EntryPathPolicy.isDot(component) { continue }
            if EntryPathPolicy.isDotDot(component) {
                guard !resolved.isEmpty else {
                    return "its target \(UnpackFailure.quoted(target)) leads outside the directory"
                }
                resolved.removeLast()
                continue
            }
            let current: NodeID? = resolved.isEmpty ? Self.root : resolved.last!
            let next = current.flatMap { child(named: component, of: $0) }
            guard let next, case .symlink(let linkTarget) = nodes[next].kind else {
                resolved.append(next)
                continue
            }
            followed += 1
            // Linux gives up after 40 links (ELOOP); a loop never resolves, so it is refused too.
            guard followed <= 40 else {
                return "its target \(UnpackFailure.quoted(target)) never resolves (a symlink loop)"
            }
            guard EntryPathPolicy.refusal(ofSymlinkTarget: linkTarget) == nil else {
                return "its target \(UnpackFailure.quoted(target)) goes through a refused symlink"
            }
            pending.append(contentsOf: EntryPathPolicy.components(ofSymlinkTarget: linkTarget).reversed())
        }
        return nil
    }
}
