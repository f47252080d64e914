#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A private directory (mode 0700) beside the destination, on its file system, where a package is
/// fetched and unpacked before the final rename. Removed whatever happens, so nothing half-made is
/// ever left; a removal that fails is reported, not swallowed.
package final class StagingArea: @unchecked Sendable {
    /// The staging directory.
    package let path: String
    /// What becomes of the files fetched here.
    package let role: StagingFile.Role
    private let directory: StagingDirectory
    /// The switch a signal stops; it removes this area then.
    private let interruption: Interruption

    static let prefix = ".pkgfetch-staging-"
    /// The file naming the process this area belongs to (`StagingOwner`).
    static let ownerName = Array("owner".utf8)

    /// Creates the staging directory for an install to `target`, named after this process
    /// (`.pkgfetch-staging-<pid>-<random>`), after recovering and removing the ones there left by a
    /// process that is gone (killed, or the machine lost power), so an interrupted install is undone
    /// before anything else happens to the destination, and debris does not pile up.
    /// A partial download of one of `resuming` that such a process left is moved here instead, for
    /// `file(named:for:)` to continue.
    package convenience init(for target: InstallTarget, role: StagingFile.Role = .unpacked, interruption: Interruption? = nil,
                            resuming: [Source] = []) throws {
        try self.init(in: Self.placement(for: target), for: target.path, role: role, interruption: interruption ?? Interruption(),
                      resuming: Set(resuming.map(ResumeRecord.identity(of:))))
    }

    /// As `init(for:)`, for a file to be installed at `destination`.
    package convenience init(near destination: String, role: StagingFile.Role = .unpacked, interruption: Interruption? = nil) throws {
        try self.init(for: .file(path: destination), role: role, interruption: interruption)
    }

    private init(in parent: DirectoryHandle, for destination: String, role: StagingFile.Role, interruption: Interruption,
                 resuming: Set<String>) throws {
        self.role = role
        self.interruption = interruption
        // Under the switch: a signal waits for a recovery in progress, and finds the new area registered.
        var adopted: [String: Adopted] = [:]
        directory = try interruption.creating {
            let name = Array("\(Self.prefix)\(getpid())-\(UUID().uuidString.prefix(8).lowercased())".utf8)
            do {
                try parent.makeDirectory(name, mode: 0o700)
            } catch {
                throw PkgfetchError(.destinationIO, "cannot write beside \(destination): \(parent.path): \(FileSystem.creationFailure(in: parent.descriptor))")
            }
            do {
                let handle = try parent.openDirectory(name)
                if let owner = StagingOwner.current { try handle.writeFile(Self.ownerName, owner.encoded, durable: false) }
                // Once this area is there and owned: a dead run's partial downloads can move into it.
                adopted = Self.removeAbandoned(in: parent, adopting: resuming, into: handle)
                return StagingDirectory(parent: parent, handle: handle, name: name, interruption: interruption)
            } catch {
                try? parent.removeTree(name)
                throw error
            }
        }
        path = parent.child(directory.name).string
        self.adopted = adopted
    }

    /// A dead run's partial download moved into this area, waiting for the download of its source.
    struct Adopted {
        var name: [UInt8]
        var record: ResumeRecord
    }
    private var adopted: [String: Adopted]
    private let adoptedLock = Lock()

    /// Where staging goes: on the destination's file system, so the final rename stays atomic. That is
    /// the closest existing ancestor of the destination; for a merge into an existing directory (through
    /// a symlink the protected-symlinks rule lets us follow, too), that directory's parent. A symlink on
    /// the way that may not be followed is refused here, before anything is fetched.
    static func placement(for target: InstallTarget) throws -> DirectoryHandle {
        let destination = LexicalPath(target.path)
        if target.mergesIntoDirectory {
            let reached = try PathWalk.walk(destination)
            guard reached.missing.isEmpty else { return reached.directory }
            return try reached.directory.openParent(as: reached.directory.path.parent)
        }
        return try PathWalk.walk(destination.parent).directory
    }

    /// How long a staging directory whose owner cannot be told (no owner record: made by an older
    /// pkgfetch, or killed before it was written; or an owner in another pid namespace, a container
    /// sharing the directory, which `kill` does not see but whose download keeps writing) must have
    /// gone unwritten, besides the pid in its name being gone, to be removed.
    static let abandonedAfter: TimeInterval = 10 * 60

    /// Recovers and removes the staging directories in `parent` whose owner is gone: at once when
    /// their owner record says so (`StagingOwner`), else when the pid in the name is gone and nothing
    /// was written for `abandonedAfter`. An install journaled there is rolled back, or finished when
    /// it had committed (`InstallRecovery`). Only directories that can be ours are touched: owned by
    /// us, mode 0700, opened without following a symlink and emptied through that handle, so a name
    /// swapped meanwhile cannot point the removal elsewhere. Names without a pid, and owners that
    /// still run, are left alone. Best effort: what cannot be recovered or removed stays.
    @discardableResult
    static func removeAbandoned(in parent: DirectoryHandle, adopting identities: Set<String> = [],
                                into target: DirectoryHandle? = nil) -> [String: Adopted] {
        var adopted: [String: Adopted] = [:]
        let prefixBytes = Array(prefix.utf8)
        guard let entries = try? parent.entries() else { return adopted }
        for (name, kind) in entries where kind == .directory && name.starts(with: prefixBytes) {
            guard let directory = try? parent.openDirectory(name), let info = try? directory.status(),
                  info.st_uid == geteuid(), info.st_mode & 0o7777 == 0o700 else { continue }
            let record = try? directory.readFile(ownerName, limit: 4096)
            let owner = record.flatMap(StagingOwner.init(parsing:))
            switch owner?.liveness {
            case .alive?: continue
            case .gone?: break
            case .unknown?, nil:
                let pidText = String(decoding: name.dropFirst(prefixBytes.count).prefix { $0 != UInt8(ascii: "-") }, as: UTF8.self)
                guard let pid = Int32(pidText), pid > 0, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
                // Killed between making the area and writing its owner record: nothing was staged in
                // it yet, so it goes at once. Otherwise, only once nothing was written for a while.
                let bornEmpty = owner == nil && ((try? directory.entries())?.allSatisfy { $0.name == ownerName } ?? false)
                guard bornEmpty || Date().timeIntervalSince(lastWritten(directory, info)) > abandonedAfter else { continue }
            }
            if let target, !identities.isEmpty {
                adoptPartialDownloads(from: directory, of: identities, into: target, adopted: &adopted)
            }
            try? StagingDirectory(parent: parent, handle: directory, name: name, interruption: nil).remove()
        }
        return adopted
    }

    /// Moves the partial downloads of a dead area that have a resume record (`ResumeRecord`) naming one
    /// of `identities` into `target`, one per source (the longest), as `adopted-<n>` and its record.
    /// Only regular files of ours no larger than the recorded size; whatever is not moved is removed
    /// with the dead area.
    private static func adoptPartialDownloads(from dead: DirectoryHandle, of identities: Set<String>, into target: DirectoryHandle,
                                              adopted: inout [String: Adopted]) {
        for (name, kind) in (try? dead.entries()) ?? [] where kind == .file && name.count > ResumeRecord.suffix.count
            && name.suffix(ResumeRecord.suffix.count).elementsEqual(ResumeRecord.suffix) {
            let partial = Array(name.dropLast(ResumeRecord.suffix.count))
            guard let bytes = try? dead.readFile(name, limit: ResumeRecord.sizeLimit), let record = ResumeRecord(parsing: bytes), identities.contains(record.identity),
                  let info = try? dead.status(of: partial), info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(),
                  info.st_size > 0, info.st_size <= record.totalSize else { continue }
            if let held = adopted[record.identity] {
                // The longer of two copies of one source stays; the other goes.
                guard let heldInfo = try? target.status(of: held.name), heldInfo.st_size < info.st_size else { continue }
                try? target.unlink(held.name, directory: false)
                try? target.unlink(held.name + ResumeRecord.suffix, directory: false)
                adopted[record.identity] = nil
            }
            let newName = Array("adopted-\(adopted.count)-\(UUID().uuidString.prefix(8).lowercased())".utf8)
            do {
                try dead.rename(partial, to: target, as: newName)
                try dead.rename(name, to: target, as: newName + ResumeRecord.suffix)
            } catch {
                try? target.unlink(newName, directory: false)
                continue
            }
            adopted[record.identity] = Adopted(name: newName, record: record)
        }
    }

    /// The newest modification time of `directory` and its direct entries (a download in progress
    /// keeps its staging file's current).
    private static func lastWritten(_ directory: DirectoryHandle, _ info: stat) -> Date {
        var newest = info.st_mtim.tv_sec
        for (name, _) in (try? directory.entries()) ?? [] {
            guard let entry = try? directory.status(of: name) else { return .distantFuture }
            newest = max(newest, entry.st_mtim.tv_sec)
        }
        return Date(timeIntervalSince1970: TimeInterval(newest))
    }

    /// A staging file for one source's download.
    package func file(named name: String) throws -> StagingFile {
        try interruption.shortlyUnlessStopped { try StagingFile(path: path.appendingPath(name), role: role) }
    }

    /// A staging file for downloading `source`: when a killed run left a partial download of it (moved
    /// here when this area was made), that file, holding those bytes, and the version they are of, for
    /// the download to continue only if the source is still that version; else an empty file and nil.
    func file(named name: String, for source: Source) throws -> (file: StagingFile, stagedVersion: Validator?) {
        let identity = ResumeRecord.identity(of: source)
        guard let found = adoptedLock.withLock({ adopted.removeValue(forKey: identity) }) else { return (try file(named: name), nil) }
        let bytes = Array(name.utf8)
        let handle = directory.handle
        return try interruption.shortlyUnlessStopped {
            do {
                try handle.rename(found.name + ResumeRecord.suffix, to: handle, as: bytes + ResumeRecord.suffix)
                try handle.rename(found.name, to: handle, as: bytes)
            } catch {
                try? handle.unlink(bytes + ResumeRecord.suffix, directory: false)
                return (try StagingFile(path: handle.child(bytes).string, role: role), nil)
            }
            let file = try StagingFile(path: handle.child(bytes).string, role: role, adopting: true, trusting: found.record.staged)
            // The file kept its record, which it now keeps true as it is written on (its prefix, once bytes go ahead of it).
            file.recordResumable(found.record)
            return (file, found.record.validator)
        }
    }

    /// An empty directory to unpack into (mode 0755 at most: it becomes the destination directory
    /// when there was none, or on `--replace`).
    package func directory(named name: String) throws -> String {
        let bytes = Array(name.utf8)
        let handle = directory.handle
        try interruption.shortlyUnlessStopped {
            try handle.removeTree(bytes)
            try handle.makeDirectory(bytes, mode: 0o755)
        }
        return handle.child(bytes).string
    }

    /// Removes the staging directory and everything in it (any depth), relative to directory handles;
    /// an install journaled here that did not commit is undone first. Runs once; a second call waits
    /// for the first. Throws when something could not be removed (then an install that could not be
    /// undone stays, for the next run to recover).
    package func remove() throws {
        try directory.remove()
    }

    deinit { try? remove() }
}

/// One staging directory, as its parent, a handle on it, and its name: what removing it takes, kept
/// apart from `StagingArea` so that a signal's clean-up can hold it.
final class StagingDirectory: @unchecked Sendable {
    let parent: DirectoryHandle
    let handle: DirectoryHandle
    let name: [UInt8]
    private let interruption: Interruption?
    private let lock = Lock()
    private var removed = false

    init(parent: DirectoryHandle, handle: DirectoryHandle, name: [UInt8], interruption: Interruption?) {
        self.parent = parent
        self.handle = handle
        self.name = name
        self.interruption = interruption
    }

    /// Recovers an install journaled here, then removes everything, the owner record last: a run
    /// killed meanwhile leaves an area the next run still knows to be dead.
    func remove() throws {
        try lock.withLock {
            guard !removed else { return }
            do {
                try InstallRecovery.recover(handle, in: parent)
                for (entry, _) in try handle.entries() where entry != StagingArea.ownerName { try handle.removeTree(entry) }
                try handle.removeTree(StagingArea.ownerName)
                // By name, but only an empty directory: whatever might stand there now loses nothing.
                if try parent.kind(of: name) != .missing { try parent.unlink(name, directory: true) }
            } catch {
                throw PkgfetchError(.destinationIO, "cannot remove the staging directory \(parent.child(name)): \(PkgfetchError.from(error).message)")
            }
            removed = true
            interruption?.unregister(self)
        }
    }
}
