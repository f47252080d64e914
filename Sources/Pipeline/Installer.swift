import Foundation

/// Moves a staged result into place so that the destination holds either its old content or the
/// complete new content. Every check happens before the first rename, and a signal waits for the
/// renames in flight (the caller's `Interruption`). The destination path is normalised by its text (`LexicalPath`)
/// and opened one component at a time (`PathWalk`); everything after that is relative to directory
/// handles, so nothing the checks saw can be swapped for a symlink before it is used.
public enum Installer {
    /// `--output FILE`: one rename over the old file. A symlink at FILE is replaced itself, as `mv -T`
    /// does; what it points at is untouched. `durable`: the renamed entry is forced to disk too (the
    /// caller has synced the file itself).
    /// A stopped `interruption` refuses the rename.
    public static func installFile(_ staged: String, to destination: String, durable: Bool = false,
                                   interruption: Interruption = Interruption()) throws {
        let target = LexicalPath(destination)
        guard let name = target.name else { throw PkgfetchError(.destinationIO, "/ is a directory; --output needs a file path") }
        let changed = try interruption.whileInstalling {
            // Opened under the switch: a stopped run's staging is gone, and that is an interruption.
            let source = try StagedEntry(staged)
            let chain = try makeDirectories(target.parent)
            let parent = chain[chain.count - 1]
            if try parent.kind(of: name) == .directory {
                throw PkgfetchError(.destinationIO, "\(destination) is a directory; --output needs a file path")
            }
            try source.directory.rename(source.name, to: parent, as: name)
            return chain.map(\.path)
        }
        if durable { try sync(changed) }
    }

    /// `--dest DIR`: installs the staged tree `tree` into `destination` by `mode`. `durable`: the
    /// tree's files are forced to disk before the first rename, and the renames after the last.
    ///
    /// A symlink at DIR: `--replace` replaces the link itself with the new directory (the tree it
    /// pointed at is never deleted); a merge follows it where the protected-symlinks rule allows
    /// (`PathWalk`), and refuses otherwise. A stopped `interruption` refuses the renames.
    public static func installTree(_ tree: String, into destination: String, mode: InstallMode, durable: Bool = false,
                                   interruption: Interruption = Interruption()) throws {
        if durable { try FileSystem.syncFileSystem(containing: tree) }
        let changed = try interruption.whileInstalling {
            try installTree(StagedEntry(tree), into: LexicalPath(destination), as: destination, mode: mode)
        }
        if durable { try sync(changed) }
    }

    /// Returns the directories whose entries the install changed.
    private static func installTree(_ tree: StagedEntry, into target: LexicalPath, as destination: String,
                                    mode: InstallMode) throws -> [LexicalPath] {
        guard let name = target.name else {
            guard mode == .merge else { throw PkgfetchError(.destinationIO, "refusing to replace /") }
            return try merge(tree, into: DirectoryHandle.root())
        }
        let chain = try makeDirectories(target.parent)
        let parent = chain[chain.count - 1]
        switch (try parent.kind(of: name), mode) {
        case (.missing, _):
            try tree.directory.rename(tree.name, to: parent, as: name)
            return chain.map(\.path)
        case (.directory, .replace), (.symlink, .replace):
            try replace(name, in: parent, with: tree)
            return [parent.path]
        case (.directory, .merge):
            return try merge(tree, into: parent.openDirectory(name))
        case (.symlink, .merge):
            return try merge(tree, into: PathWalk.openDirectory(target))
        default:
            throw PkgfetchError(.destinationIO, "\(destination) exists and is not a directory")
        }
    }

    /// Opens directory `path`, creating it and its missing ancestors. Returns the directories whose
    /// entries change when something is renamed into `path`: the deepest one that existed and each one
    /// created, `path` itself last.
    private static func makeDirectories(_ path: LexicalPath) throws -> [DirectoryHandle] {
        let reached = try PathWalk.walk(path)
        var chain = [reached.directory]
        for name in reached.missing {
            let parent = chain[chain.count - 1]
            do {
                try parent.makeDirectory(name)
            } catch {
                // Another package of a batch may have created it a moment ago.
                guard try parent.kind(of: name) == .directory else { throw error }
            }
            chain.append(try parent.openDirectory(name))
        }
        return chain
    }

    private static func sync(_ directories: [LexicalPath]) throws {
        for directory in directories { try PathWalk.openDirectory(directory).sync() }
    }

    /// Swaps the staged tree and the destination entry in one step. What was there (the old directory,
    /// or a symlink itself, never the tree behind one) ends in staging and goes when staging does.
    private static func replace(_ name: [UInt8], in parent: DirectoryHandle, with tree: StagedEntry) throws {
        if try tree.directory.exchange(tree.name, with: name, in: parent) { return }
        let old = tree.name + Array(".old".utf8)
        try parent.rename(name, to: tree.directory, as: old)
        do {
            try tree.directory.rename(tree.name, to: parent, as: name)
        } catch {
            try? tree.directory.rename(old, to: parent, as: name)
            throw error
        }
    }

    /// Renames each staged entry over its old version; files only the destination has are kept, and a
    /// directory the destination lacks moves over whole. The same walk runs twice: first only checking,
    /// so a type conflict (a file where the package has a directory) is found before anything moves;
    /// then renaming, checking again as it goes. Returns the directories whose entries changed.
    private static func merge(_ tree: StagedEntry, into destination: DirectoryHandle) throws -> [LexicalPath] {
        let staged = try tree.directory.openDirectory(tree.name)
        _ = try mergeWalk(staged, into: destination, renaming: false)
        return try mergeWalk(staged, into: destination, renaming: true)
    }

    private static func mergeWalk(_ stagedTop: DirectoryHandle, into destinationTop: DirectoryHandle, renaming: Bool) throws -> [LexicalPath] {
        var staged = DirectoryCursor(at: stagedTop)
        var destination = DirectoryCursor(at: destinationTop)
        // Per level walked into: the staged entries still to place, and whether the level changed.
        var pending = [try stagedTop.entries()]
        var changedLevels = [false]
        var changed: [LexicalPath] = []
        while !pending.isEmpty {
            guard let entry = pending[pending.count - 1].popLast() else {
                pending.removeLast()
                if changedLevels.removeLast() { changed.append(destination.current.path) }
                if !pending.isEmpty {
                    _ = try staged.leave()
                    _ = try destination.leave()
                }
                continue
            }
            let there = try destination.current.kind(of: entry.name)
            switch (entry.kind, there) {
            case (.directory, .directory):
                try staged.enter(entry.name)
                try destination.enter(entry.name)
                pending.append(try staged.current.entries())
                changedLevels.append(false)
            case (.directory, .missing), (.file, _), (.symlink, _), (.other, _):
                guard there != .directory else {
                    throw PkgfetchError(.destinationIO, "cannot merge: \(destination.current.child(entry.name)) is a directory, but the package has a file there")
                }
                if renaming {
                    try staged.current.rename(entry.name, to: destination.current, as: entry.name)
                    changedLevels[changedLevels.count - 1] = true
                }
            case (.directory, _), (.missing, _):
                throw PkgfetchError(.destinationIO, "cannot merge: \(destination.current.child(entry.name)) is not a directory, but the package has a directory there")
            }
        }
        return changed
    }
}

/// An entry in staging, as the directory holding it and its name there.
private struct StagedEntry {
    var directory: DirectoryHandle
    var name: [UInt8]

    init(_ path: String) throws {
        let staged = LexicalPath(path)
        guard let name = staged.name else { throw PkgfetchError(.internal, "staged entry '/' (a bug in pkgfetch)") }
        directory = try PathWalk.openDirectory(staged.parent)
        self.name = name
    }
}
