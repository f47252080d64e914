#if canImport(Glibc)
import Glibc
#endif

/// An install of several renames made all-or-nothing across crashes: the journal is written before the
/// first rename, each replaced entry is kept in the staging area (`aside`) instead of being unlinked,
/// and the journal is renamed to its committed name after the last rename. A failing rename rolls back
/// what was done; a run killed before the commit is rolled back by the next run that finds its staging
/// (`InstallRecovery`), and one killed after it is finished. Every step of a rollback checks the inode
/// of what it moves, so it can be repeated after a crash in the middle of it.
struct JournaledInstall {
    let journal: InstallJournal
    /// The directory the operations' destination paths start from.
    let destination: DirectoryHandle
    /// The staging directory: staged paths start here, and the journal and `aside` live here.
    let staging: DirectoryHandle
    /// For tests: after this many changes the install stops dead, as a crash would stop it (`Crash`).
    var crashAfter: Int?
    private var changes = 0

    /// Thrown where `crashAfter` stops the install: nothing after that point runs, rollback included.
    struct Crash: Error {}

    init(_ journal: InstallJournal, into destination: DirectoryHandle, staging: DirectoryHandle, crashAfter: Int? = nil) {
        self.journal = journal
        self.destination = destination
        self.staging = staging
        self.crashAfter = crashAfter
    }

    /// Records the journal, applies each operation, and commits. `durable`: the journal (with the
    /// staging area's owner record) is forced to disk before the first rename, and the destination
    /// directories that changed before the commit, and the commit itself. A failure rolls back what
    /// was done and is rethrown; when the rollback fails too, the journal stays for the next run.
    mutating func run(durable: Bool) throws {
        if try staging.kind(of: InstallJournal.asideName) == .missing { try staging.makeDirectory(InstallJournal.asideName, mode: 0o700) }
        if durable, try staging.kind(of: StagingArea.ownerName) == .file { try staging.sync(StagingArea.ownerName) }
        try staging.writeFile(InstallJournal.name, journal.encoded, durable: durable)
        try changed()
        do {
            let aside = try staging.openDirectory(InstallJournal.asideName)
            var destinations = DirectoryOpener(top: destination), stagings = DirectoryOpener(top: staging)
            for (index, operation) in journal.operations.enumerated() {
                try apply(operation, index: index, aside: aside, destinations: &destinations, stagings: &stagings)
            }
            if durable { try syncChangedDirectories() }
            try staging.rename(InstallJournal.name, to: staging, as: InstallJournal.committedName)
            try changed()
            if durable { try staging.sync() }
        } catch let crash as Crash {
            throw crash
        } catch {
            let failure = PkgfetchError.from(error)
            do {
                try rollBack()
                try staging.unlink(InstallJournal.name, directory: false)
            } catch {
                throw PkgfetchError(failure.kind, "\(failure.message); undoing the install failed too (\(PkgfetchError.from(error).message)): "
                                        + "the next pkgfetch run for this destination restores it")
            }
            throw PkgfetchError(failure.kind, "\(failure.message) (nothing was changed: what was renamed is back)")
        }
    }

    private mutating func apply(_ operation: InstallJournal.Operation, index: Int, aside: DirectoryHandle,
                                destinations: inout DirectoryOpener, stagings: inout DirectoryOpener) throws {
        let (directory, name) = try destinations.parent(of: operation.destination)
        let (stagedDirectory, stagedName) = try stagings.parent(of: operation.staged)
        // Checked again as it goes: what is there now is what the journal says is there.
        let there = try directory.status(of: name)
        guard identity(there) == operation.old else {
            throw PkgfetchError(.destinationIO, "\(directory.child(name)) changed while pkgfetch installed into it")
        }
        guard let there else {
            try stagedDirectory.rename(stagedName, to: directory, as: name)
            return try changed()
        }
        let keep = InstallJournal.aside(index)
        // A second name keeps the old entry while the new one is renamed over it in one step, so a
        // reader never finds the name missing; where links are refused, one swap does the same. A
        // directory is swapped this way only where swapping is not supported (`--replace`'s fallback):
        // it is moved aside, then the new one takes its name.
        if FileSystem.Kind(there) != .directory {
            if try directory.link(name, to: aside, as: keep) {
                try changed()
                try stagedDirectory.rename(stagedName, to: directory, as: name)
                return try changed()
            }
            if try stagedDirectory.exchange(stagedName, with: name, in: directory) { return try changed() }
        }
        try directory.rename(name, to: aside, as: keep)
        try changed()
        try stagedDirectory.rename(stagedName, to: directory, as: name)
        try changed()
    }

    /// Puts back every entry the journal's operations replaced, and takes out every one they added,
    /// last operation first, as far as each can be proved by its inode; an entry that is neither the
    /// old nor the new one (someone else's since) is left alone.
    mutating func rollBack() throws {
        var aside: DirectoryHandle?
        var destinations = DirectoryOpener(top: destination), stagings = DirectoryOpener(top: staging)
        for (index, operation) in journal.operations.enumerated().reversed() {
            guard let (directory, name) = try? destinations.parent(of: operation.destination) else { continue }
            let current = identity(try directory.status(of: name))
            if current == operation.old { continue }
            guard current == nil || current == operation.new else { continue }
            if aside == nil { aside = try asideDirectory() }
            guard let aside else { continue }
            guard let old = operation.old else {
                try directory.rename(name, to: aside, as: InstallJournal.aside(index))
                try changed()
                continue
            }
            // The old entry is kept aside, or (after a swap) where the new one was staged.
            let kept: (DirectoryHandle, [UInt8])
            if identity(try aside.status(of: InstallJournal.aside(index))) == old {
                kept = (aside, InstallJournal.aside(index))
            } else if let (stagedDirectory, stagedName) = try? stagings.parent(of: operation.staged),
                      identity(try stagedDirectory.status(of: stagedName)) == old {
                kept = (stagedDirectory, stagedName)
            } else {
                continue
            }
            // A directory (the one `--replace` swaps) cannot be renamed over another that has entries.
            if current != nil, try kept.0.kind(of: kept.1) == .directory || directory.kind(of: name) == .directory {
                try directory.rename(name, to: aside, as: InstallJournal.aside(index, new: true))
                try changed()
            }
            try kept.0.rename(kept.1, to: directory, as: name)
            try changed()
        }
    }

    /// After a commit whose renames a power cut may have lost: every new entry missing from the
    /// destination and still staged is renamed into place.
    mutating func finish() throws {
        var destinations = DirectoryOpener(top: destination), stagings = DirectoryOpener(top: staging)
        for operation in journal.operations {
            guard let (directory, name) = try? destinations.parent(of: operation.destination),
                  try directory.kind(of: name) == .missing,
                  let (stagedDirectory, stagedName) = try? stagings.parent(of: operation.staged),
                  identity(try stagedDirectory.status(of: stagedName)) == operation.new else { continue }
            try stagedDirectory.rename(stagedName, to: directory, as: name)
            try changed()
        }
    }

    private func asideDirectory() throws -> DirectoryHandle {
        if try staging.kind(of: InstallJournal.asideName) == .missing { try staging.makeDirectory(InstallJournal.asideName, mode: 0o700) }
        return try staging.openDirectory(InstallJournal.asideName)
    }

    /// The directories whose entries the operations changed, forced to disk.
    private func syncChangedDirectories() throws {
        var destinations = DirectoryOpener(top: destination)
        var synced = Set<ArraySlice<[UInt8]>>()
        for operation in journal.operations where synced.insert(operation.destination.dropLast()).inserted {
            try destinations.parent(of: operation.destination).directory.sync()
        }
    }

    /// The inode of an entry, when it is on the journal's device.
    private func identity(_ status: stat?) -> UInt64? {
        guard let status else { return nil }
        return UInt64(status.st_dev) == journal.device ? UInt64(status.st_ino) : UInt64.max
    }

    private mutating func changed() throws {
        changes += 1
        if let crashAfter, changes >= crashAfter { throw Crash() }
    }
}

/// Opens the directory holding an entry named by its path below `top`, one component at a time with
/// O_NOFOLLOW; the last directory opened is kept for the next entry in it (a merge's entries come
/// directory by directory).
struct DirectoryOpener {
    let top: DirectoryHandle
    private var last: (path: ArraySlice<[UInt8]>, handle: DirectoryHandle)?

    init(top: DirectoryHandle) { self.top = top }

    mutating func parent(of path: [[UInt8]]) throws -> (directory: DirectoryHandle, name: [UInt8]) {
        guard let name = path.last else { throw PkgfetchError(.internal, "an empty path in an install journal (a bug in pkgfetch)") }
        let parentPath = path.dropLast()
        if let last, last.path == parentPath { return (last.handle, name) }
        var handle = top
        for component in parentPath { handle = try handle.openDirectory(component) }
        last = (parentPath, handle)
        return (handle, name)
    }
}
