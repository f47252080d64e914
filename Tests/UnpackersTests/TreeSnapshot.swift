import Foundation

/// What a directory tree holds, by relative path, read with `lstat` (symlinks are not followed), for
/// comparing an extraction with what `bsdtar -xf` makes of the same archive.
struct TreeSnapshot {
    struct Node: Equatable, CustomStringConvertible {
        var type: String
        /// Permission bits, set-id and sticky included.
        var permissions: Int
        var size: Int64
        var linkTarget: String?
        var modified: Int

        var description: String {
            "\(type) 0o\(String(permissions, radix: 8)) size \(size) mtime \(modified)" + (linkTarget.map { " -> \($0)" } ?? "")
        }
    }

    let root: String
    private(set) var nodes: [String: Node] = [:]

    init(_ root: String) throws {
        self.root = root
        try walk("")
    }

    subscript(relative: String) -> Node? { nodes[relative] }

    private mutating func walk(_ relative: String) throws {
        let directory = relative.isEmpty ? root : "\(root)/\(relative)"
        for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() {
            let path = relative.isEmpty ? name : "\(relative)/\(name)"
            var info = stat()
            guard lstat("\(root)/\(path)", &info) == 0 else { throw TestSetupError(description: "cannot lstat \(path)") }
            let type: String
            var target: String?
            switch info.st_mode & S_IFMT {
            case S_IFREG: type = "file"
            case S_IFDIR: type = "dir"
            case S_IFLNK:
                type = "symlink"
                target = try FileManager.default.destinationOfSymbolicLink(atPath: "\(root)/\(path)")
            default: type = "other"
            }
            nodes[path] = Node(type: type, permissions: Int(info.st_mode & 0o7777), size: Int64(info.st_size),
                               linkTarget: target, modified: Int(info.st_mtim.tv_sec))
            if type == "dir" { try walk(path) }
        }
    }

    /// Every way `self` differs from `oracle`: a path only in one of them, another type, mode, symlink
    /// target, size, modification time (unless `comparingTimes` is false), or file content.
    func differences(from oracle: TreeSnapshot, comparingTimes: Bool = true) throws -> [String] {
        var found: [String] = []
        for path in Set(nodes.keys).union(oracle.nodes.keys).sorted() {
            guard let mine = nodes[path] else { found.append("\(path): missing (bsdtar has \(oracle.nodes[path]!))"); continue }
            guard let theirs = oracle.nodes[path] else { found.append("\(path): extra (\(mine))"); continue }
            var a = mine, b = theirs
            if !comparingTimes { a.modified = 0; b.modified = 0 }
            if a != b { found.append("\(path): \(mine) but bsdtar made \(theirs)"); continue }
            if mine.type == "file" {
                let same = try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(path)"))
                    == Data(contentsOf: URL(fileURLWithPath: "\(oracle.root)/\(path)"))
                if !same { found.append("\(path): content differs") }
            }
        }
        return found
    }
}
