import Foundation

/// Moves a staged result into place so that the destination holds either its old content or the
/// complete new content. Every check happens before the first rename, and a signal waits for the
/// renames in flight (the caller's `Interruption`).
public enum Installer {
    /// `--output FILE`: one rename over the old file. `durable`: the renamed entry is forced to disk
    /// too (the caller has synced the file itself). A stopped `interruption` refuses the rename.
    public static func installFile(_ staged: String, to destination: String, durable: Bool = false,
                                   interruption: Interruption = Interruption()) throws {
        let target = FileSystem.absolute(destination)
        if FileSystem.kind(target) == .directory {
            throw PkgfetchError(.destinationIO, "\(destination) is a directory; --output needs a file path")
        }
        let changed = try makeDirectories(parent(of: target))
        try interruption.whileInstalling { try FileSystem.rename(staged, to: target) }
        if durable { try changed.forEach(FileSystem.syncDirectory) }
    }

    /// `--dest DIR`: installs the staged tree `tree` into `destination` by `mode`. `durable`: the
    /// tree's files are forced to disk before the first rename, and the renames after the last. A
    /// stopped `interruption` refuses the renames.
    public static func installTree(_ tree: String, into destination: String, mode: InstallMode, durable: Bool = false,
                                   interruption: Interruption = Interruption()) throws {
        if durable { try FileSystem.syncFileSystem(containing: tree) }
        let changed = try interruption.whileInstalling {
            try installTree(tree, into: FileSystem.absolute(destination), as: destination, mode: mode)
        }
        if durable { try changed.forEach(FileSystem.syncDirectory) }
    }

    /// Returns the directories whose entries the install changed.
    private static func installTree(_ tree: String, into target: String, as destination: String, mode: InstallMode) throws -> [String] {
        switch FileSystem.kind(target) {
        case .missing:
            let changed = try makeDirectories(parent(of: target))
            try FileSystem.rename(tree, to: target)
            return changed
        case .directory:
            switch mode {
            case .replace:
                try replace(target, with: tree)
                return [parent(of: target)]
            case .merge:
                return try merge(tree, into: target)
            }
        default:
            throw PkgfetchError(.destinationIO, "\(destination) exists and is not a directory")
        }
    }

    /// Creates `directory` and its missing ancestors. Returns the directories whose entries change
    /// when something is renamed into `directory`: the deepest one that existed and each one created.
    private static func makeDirectories(_ directory: String) throws -> [String] {
        var created: [String] = []
        var existing = directory
        while FileSystem.kind(existing) == .missing, existing != "/" {
            created.append(existing)
            existing = parent(of: existing)
        }
        if !created.isEmpty { try FileSystem.createDirectories(directory) }
        return [existing] + created.reversed()
    }

    private static func parent(of path: String) -> String { (path as NSString).deletingLastPathComponent }

    /// Swaps the directories in one step, then drops the old content (now in staging).
    private static func replace(_ target: String, with tree: String) throws {
        if FileSystem.exchange(tree, target) { return }
        let old = tree + ".old"
        try FileSystem.rename(target, to: old)
        do {
            try FileSystem.rename(tree, to: target)
        } catch {
            try? FileSystem.rename(old, to: target)
            throw error
        }
        FileSystem.remove(old)
    }

    /// Renames each staged file over its old version; files only the destination has are kept.
    /// Type conflicts (a file where the package has a directory) are found before anything moves.
    /// Returns the directories whose entries changed.
    private static func merge(_ tree: String, into target: String) throws -> [String] {
        let entries = try walk(tree)
        for entry in entries {
            let there = FileSystem.kind((target as NSString).appendingPathComponent(entry.relative))
            switch (entry.kind, there) {
            case (.directory, .file), (.directory, .symlink), (.directory, .other):
                throw PkgfetchError(.destinationIO, "cannot merge: \(entry.relative) is a directory in the package but not in \(target)")
            case (.file, .directory), (.symlink, .directory):
                throw PkgfetchError(.destinationIO, "cannot merge: \(entry.relative) is a directory in \(target) but not in the package")
            default: break
            }
        }
        var changed: Set<String> = [target]
        for entry in entries {
            let destination = (target as NSString).appendingPathComponent(entry.relative)
            if entry.kind == .directory {
                if FileSystem.kind(destination) == .missing {
                    try FileSystem.createDirectories(destination)
                    changed.insert(parent(of: destination))
                }
            } else {
                try FileSystem.rename((tree as NSString).appendingPathComponent(entry.relative), to: destination)
                changed.insert(parent(of: destination))
            }
        }
        return changed.sorted()
    }

    struct Entry { var relative: String; var kind: FileSystem.Kind }

    /// Parents before children, without following symlinks.
    static func walk(_ root: String) throws -> [Entry] {
        var result: [Entry] = []
        var pending = [""]
        while let relative = pending.popLast() {
            let absolute = relative.isEmpty ? root : (root as NSString).appendingPathComponent(relative)
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: absolute).sorted() } catch {
                throw PkgfetchError(.destinationIO, "cannot read staged tree \(absolute): \(FileSystem.describe(error))")
            }
            for name in names {
                let child = relative.isEmpty ? name : "\(relative)/\(name)"
                let kind = FileSystem.kind((root as NSString).appendingPathComponent(child))
                result.append(Entry(relative: child, kind: kind))
                if kind == .directory { pending.append(child) }
            }
        }
        return result
    }
}
