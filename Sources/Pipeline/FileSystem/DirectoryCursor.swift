#if canImport(Glibc)
import Glibc
#endif

/// A place in a directory tree, walked down by name and back up by `..`, holding one directory open
/// at a time however deep the tree (an open handle per level would run out of descriptors). On the way
/// up it checks that `..` is the directory it came down from (device and inode): a directory moved
/// elsewhere meanwhile stops the walk instead of leading it there.
struct DirectoryCursor {
    private let top: DirectoryHandle
    private(set) var current: DirectoryHandle
    /// Per level entered: the name entered, and the device and inode of the directory it was entered from.
    private var trail: [(name: [UInt8], device: dev_t, inode: ino_t)] = []

    init(at top: DirectoryHandle) {
        self.top = top
        current = top
    }

    /// How many levels below the top it is.
    var depth: Int { trail.count }

    /// Enters directory `name` of the current one (never a symlink in its place).
    mutating func enter(_ name: [UInt8]) throws {
        let here = try current.status()
        let child = try current.openDirectory(name)
        trail.append((name, here.st_dev, here.st_ino))
        current = child
    }

    /// Goes back up one level and returns the name of the directory it left.
    mutating func leave() throws -> [UInt8] {
        let (name, device, inode) = trail.removeLast()
        if trail.isEmpty {
            current = top
            return name
        }
        let parent = try current.openParent(as: current.path.parent)
        let info = try parent.status()
        guard info.st_dev == device, info.st_ino == inode else {
            throw PkgfetchError(.destinationIO, "\(current.path) was moved elsewhere while pkgfetch worked in it")
        }
        current = parent
        return name
    }
}
