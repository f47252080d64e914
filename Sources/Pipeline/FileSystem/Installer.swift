#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Moves a staged result into place so that the destination holds either its old content or the
/// complete new content. Every check happens before the first rename, and a signal waits for the
/// renames in flight (the caller's `Interruption`). The destination path is normalised by its text (`LexicalPath`)
/// and opened one component at a time (`PathWalk`); everything after that is relative to directory
/// handles, so nothing the checks saw can be swapped for a symlink before it is used.
package enum Installer {
    /// `--output FILE`: one rename over the old file. A symlink at FILE is replaced itself, as `mv -T`
    /// does; what it points at is untouched. `durable`: the renamed entry is forced to disk too (the
    /// caller has synced the file itself).
    /// A stopped `interruption` refuses the rename.
    package static func installFile(_ staged: String, to destination: String, durable: Bool = false,
                                   interruption: Interruption = Interruption()) throws {
        let target = LexicalPath(destination)
        guard let name = target.name else { throw PkgfetchError(.destinationIO, "/ is a directory; --output needs a file path") }
        let changed = try interruption.unlessStopped {
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
    /// A merge, and `--replace` where the file system cannot swap two directories in one step, are
    /// several renames: they are journaled in staging (`JournaledInstall`), so a failing rename undoes
    /// the ones before it, and a run killed in the middle is undone by the next run.
    ///
    /// A symlink at DIR: `--replace` replaces the link itself with the new directory (the tree it
    /// pointed at is never deleted); a merge follows it where the protected-symlinks rule allows
    /// (`PathWalk`), and refuses otherwise. A stopped `interruption` refuses the renames.
    package static func installTree(_ tree: String, into destination: String, mode: InstallMode, durable: Bool = false,
                                   interruption: Interruption = Interruption()) throws {
        if durable { try FileSystem.syncFileSystem(containing: tree) }
        let changed = try interruption.unlessStopped {
            try installTree(StagedEntry(tree), into: LexicalPath(destination), as: destination, mode: mode, durable: durable)
        }
        if durable { try sync(changed) }
    }

    /// Returns the directories whose entries the install changed and that are still to be synced.
    private static func installTree(_ tree: StagedEntry, into target: LexicalPath, as destination: String,
                                    mode: InstallMode, durable: Bool) throws -> [LexicalPath] {
        guard let name = target.name else {
            guard mode == .merge else { throw PkgfetchError(.destinationIO, "refusing to replace /") }
            try merge(tree, into: DirectoryHandle.root(), durable: durable)
            return []
        }
        let chain = try makeDirectories(target.parent)
        let parent = chain[chain.count - 1]
        switch (try parent.kind(of: name), mode) {
        case (.missing, _):
            try tree.directory.rename(tree.name, to: parent, as: name)
            return chain.map(\.path)
        case (.directory, .replace), (.symlink, .replace):
            try replace(name, in: parent, with: tree, durable: durable)
            return [parent.path]
        case (.directory, .merge):
            try merge(tree, into: parent.openDirectory(name), durable: durable)
            return []
        case (.symlink, .merge):
            try merge(tree, into: PathWalk.openDirectory(target), durable: durable)
            return []
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
    /// Where the file system cannot swap, two renames, journaled: the name is missing between them.
    private static func replace(_ name: [UInt8], in parent: DirectoryHandle, with tree: StagedEntry, durable: Bool) throws {
        if try tree.directory.exchange(tree.name, with: name, in: parent) { return }
        guard let old = try parent.status(of: name), let new = try tree.directory.status(of: tree.name) else {
            throw PkgfetchError(.destinationIO, "\(parent.child(name)) changed while pkgfetch installed into it")
        }
        let operation = InstallJournal.Operation(destination: [name], staged: [tree.name], new: UInt64(new.st_ino), old: UInt64(old.st_ino))
        try journaled([operation], into: parent, staging: tree.directory, durable: durable)
    }

    /// Renames each staged entry over its old version; files only the destination has are kept, and a
    /// directory the destination lacks moves over whole. Every entry is checked first, so a type
    /// conflict (a file where the package has a directory) is found before anything moves; then the
    /// renames run journaled, each checking again that what it replaces is what was checked.
    private static func merge(_ tree: StagedEntry, into destination: DirectoryHandle, durable: Bool) throws {
        let staged = try tree.directory.openDirectory(tree.name)
        let operations = try mergeOperations(staged, into: destination, stagedAs: tree.name)
        try journaled(operations, into: destination, staging: tree.directory, durable: durable)
    }

    private static func journaled(_ operations: [InstallJournal.Operation], into destination: DirectoryHandle,
                                  staging: DirectoryHandle, durable: Bool) throws {
        guard !operations.isEmpty else { return }
        let top = try destination.status()
        let journal = InstallJournal(device: UInt64(top.st_dev), destination: UInt64(top.st_ino), operations: operations)
        var install = JournaledInstall(journal, into: destination, staging: staging)
        try install.run(durable: durable)
    }

    /// What a merge renames: one operation per staged entry that is not a directory the destination
    /// also has (those are walked into), with the inodes of the staged entry and of what it replaces.
    static func mergeOperations(_ stagedTop: DirectoryHandle, into destinationTop: DirectoryHandle,
                                        stagedAs treeName: [UInt8]) throws -> [InstallJournal.Operation] {
        var staged = DirectoryCursor(at: stagedTop)
        var destination = DirectoryCursor(at: destinationTop)
        // Per level walked into: the staged entries still to place; and the path to that level.
        var pending = [try stagedTop.entries()]
        var path: [[UInt8]] = []
        var operations: [InstallJournal.Operation] = []
        while !pending.isEmpty {
            guard let entry = pending[pending.count - 1].popLast() else {
                pending.removeLast()
                if !pending.isEmpty {
                    _ = try staged.leave()
                    _ = try destination.leave()
                    path.removeLast()
                }
                continue
            }
            let there = try destination.current.status(of: entry.name)
            switch (entry.kind, FileSystem.Kind(there)) {
            case (.directory, .directory):
                try staged.enter(entry.name)
                try destination.enter(entry.name)
                path.append(entry.name)
                pending.append(try staged.current.entries())
            case (.directory, .missing), (.file, _), (.symlink, _), (.other, _):
                guard FileSystem.Kind(there) != .directory else {
                    throw PkgfetchError(.destinationIO, "cannot merge: \(destination.current.child(entry.name)) is a directory, but the package has a file there")
                }
                guard let new = try staged.current.status(of: entry.name) else {
                    throw PkgfetchError(.destinationIO, "\(staged.current.child(entry.name)) vanished from staging")
                }
                operations.append(InstallJournal.Operation(destination: path + [entry.name], staged: [treeName] + path + [entry.name],
                                                           new: UInt64(new.st_ino), old: there.map { UInt64($0.st_ino) }))
            case (.directory, _), (.missing, _):
                throw PkgfetchError(.destinationIO, "cannot merge: \(destination.current.child(entry.name)) is not a directory, but the package has a directory there")
            }
        }
        return operations
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
