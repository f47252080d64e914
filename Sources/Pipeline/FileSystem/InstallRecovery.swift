#if canImport(Glibc)
import Glibc
#endif

/// Brings an install journaled in a staging area (`JournaledInstall`) to an end: one that committed
/// is finished, one that did not is rolled back, as far as each step can be proved by inodes. Run on
/// the staging area of a process that is gone, before anything else happens to its destination, and
/// on a run's own area before it is removed (an install whose rollback failed). Every step can be
/// repeated: a crash in the middle of a recovery is recovered by the next run.
enum InstallRecovery {
    /// Recovers the install journaled in `staging`, a staging directory in `parent`; nothing when none
    /// is. A journal that cannot be read or parsed names nothing that can be proved, and is dropped.
    static func recover(_ staging: DirectoryHandle, in parent: DirectoryHandle, crashAfter: Int? = nil) throws {
        if let install = journaled(InstallJournal.committedName, in: staging, under: parent, crashAfter: crashAfter) {
            var install = install
            try install.finish()
            return
        }
        guard try staging.kind(of: InstallJournal.name) != .missing else { return }
        if var install = journaled(InstallJournal.name, in: staging, under: parent, crashAfter: crashAfter) {
            try install.rollBack()
        }
        // Undone: what is left in staging is debris, to be removed.
        try staging.unlink(InstallJournal.name, directory: false)
    }

    /// The install the journal `name` in `staging` describes, with its destination found in `parent`.
    private static func journaled(_ name: [UInt8], in staging: DirectoryHandle, under parent: DirectoryHandle,
                                  crashAfter: Int?) -> JournaledInstall? {
        guard let bytes = (try? staging.readFile(name, limit: InstallJournal.sizeLimit)) ?? nil,
              let (journal, _) = InstallJournal.parse(bytes),
              let destination = directory(device: journal.device, inode: journal.destination, at: parent) else { return nil }
        return JournaledInstall(journal, into: destination, staging: staging, crashAfter: crashAfter)
    }

    /// The directory with that device and inode: `parent` itself (a `--replace`, or a merge into `/`)
    /// or one of its subdirectories (a merge; staging is made beside the destination).
    static func directory(device: UInt64, inode: UInt64, at parent: DirectoryHandle) -> DirectoryHandle? {
        func matches(_ status: stat?) -> Bool {
            guard let status else { return false }
            return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode && status.st_mode & S_IFMT == S_IFDIR
        }
        if matches(try? parent.status()) { return parent }
        for (name, kind) in (try? parent.entries()) ?? [] where kind == .directory && matches(try? parent.status(of: name)) {
            // Checked again through the handle: the name may have been swapped in between.
            if let directory = try? parent.openDirectory(name), matches(try? directory.status()) { return directory }
        }
        return nil
    }
}
