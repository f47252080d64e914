import Foundation

/// Moves a staged result into place so that the destination holds either its old content or the
/// complete new content. Every check happens before the first rename, and a signal waits for the
/// renames in flight (`Interruption`).
public enum Installer {
    /// `--output FILE`: one rename over the old file.
    public static func installFile(_ staged: String, to destination: String) throws {
        let target = FileSystem.absolute(destination)
        if FileSystem.kind(target) == .directory {
            throw PkgfetchError(.destinationIO, "\(destination) is a directory; --output needs a file path")
        }
        try FileSystem.createDirectories((target as NSString).deletingLastPathComponent)
        try Interruption.whileInstalling { try FileSystem.rename(staged, to: target) }
    }

    /// `--dest DIR`: installs the staged tree `tree` into `destination` by `mode`.
    public static func installTree(_ tree: String, into destination: String, mode: InstallMode) throws {
        try Interruption.whileInstalling { try installTree(tree, into: FileSystem.absolute(destination), as: destination, mode: mode) }
    }

    private static func installTree(_ tree: String, into target: String, as destination: String, mode: InstallMode) throws {
        switch FileSystem.kind(target) {
        case .missing:
            try FileSystem.createDirectories((target as NSString).deletingLastPathComponent)
            try FileSystem.rename(tree, to: target)
        case .directory:
            switch mode {
            case .replace: try replace(target, with: tree)
            case .merge: try merge(tree, into: target)
            }
        default:
            throw PkgfetchError(.destinationIO, "\(destination) exists and is not a directory")
        }
    }

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
    private static func merge(_ tree: String, into target: String) throws {
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
        for entry in entries {
            let destination = (target as NSString).appendingPathComponent(entry.relative)
            if entry.kind == .directory {
                if FileSystem.kind(destination) == .missing { try FileSystem.createDirectories(destination) }
            } else {
                try FileSystem.rename((tree as NSString).appendingPathComponent(entry.relative), to: destination)
            }
        }
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
