import Pipeline
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One archive unpacked into one directory: entries are read in order, each is checked, then written
/// block by block, and once all are in, every symlink is checked again against the finished tree.
///
/// What is refused (`unsafe-archive`, naming the entry):
/// - a path that is absolute or has a `..` component (`EntryPathPolicy`);
/// - a path whose parent is a symlink or a file, even a symlink that points inside (`ExtractedTree`);
/// - a symlink whose target is absolute or resolves outside, through the symlinks of the archive: on
///   creation, and again at the end, since a later entry can change where an earlier link leads;
/// - a hard link to anything but a regular file extracted before it;
/// - device nodes, FIFOs and sockets;
/// - a name seen again as another type (a directory replaced by a symlink, or the reverse); a file or
///   link seen again replaces the earlier one, as tar does, and a directory seen again keeps the later mode;
/// - passing a limit (`ExtractionBudget`).
/// What is dropped without refusing: set-id and sticky bits, and ownership, which is never restored.
final class ArchiveExtraction {
    private let expectedFormat: ArchiveFormat
    private let reader: ArchiveReader
    private let directory: ExtractionDirectory
    private var budget: ExtractionBudget
    private var tree = ExtractedTree()
    /// libarchive names a zip's format per entry ("ZIP 2.0 (deflation)", "(uncompressed)" for a
    /// directory), so the name reported is the first regular file's, or else the first entry's.
    private var formatName: String?
    private var formatNameIsFromAFile = false
    /// The entry read last, to say where a damaged archive broke.
    private var lastEntry: String?

    init(archive: String, expectedFormat: ArchiveFormat, directory: String, limits: UnpackLimits) throws {
        self.expectedFormat = expectedFormat
        var info = stat()
        guard stat(archive, &info) == 0 else {
            throw UnpackFailure.corrupt("cannot read the archive \(archive): \(String(cString: strerror(errno)))")
        }
        self.directory = try ExtractionDirectory(path: directory)
        do {
            reader = try ArchiveReader(path: archive)
        } catch let failure as ArchiveReader.Failure {
            throw Self.unreadable(archive, failure, expected: expectedFormat)
        }
        budget = ExtractionBudget(limits: limits, archiveBytes: Int64(info.st_size))
    }

    func run() throws -> UnpackReport {
        while let entry = try nextEntry() {
            try Task.checkCancellation()
            try budget.admitEntry(entry.name)
            try extract(entry)
        }
        for path in tree.symlinkPaths {
            guard case .symlink(let target)? = tree[path] else { continue }
            if let reason = tree.escape(ofSymlinkAt: path.split(separator: "/").map(String.init), target: target) {
                throw UnpackFailure.unsafe(entry: path, reason)
            }
        }
        try directory.finish()
        let format = formatName ?? reader.formatName ?? "empty archive"
        let filters = reader.filterNames
        return UnpackReport(entries: budget.entries, bytes: budget.bytes,
                            detectedFormat: filters.isEmpty ? format : "\(format), \(filters.joined(separator: ", "))")
    }

    private func nextEntry() throws -> ArchiveEntry? {
        do {
            let entry = try reader.nextEntry()
            if !formatNameIsFromAFile, let entry, formatName == nil || entry.kind == .file {
                formatName = reader.formatName
                formatNameIsFromAFile = entry.kind == .file
            }
            lastEntry = entry?.name
            return entry
        } catch let failure as ArchiveReader.Failure {
            let place = lastEntry.map { "after entry \(UnpackFailure.quoted($0))" } ?? "at its first entry"
            throw UnpackFailure.corrupt("corrupt archive (expected \(expectedFormat)): \(place): \(failure.message)")
        }
    }

    private func extract(_ entry: ArchiveEntry) throws {
        let components = try EntryPathPolicy.components(ofEntry: entry.name)
        if case .refused(let what) = entry.kind {
            throw UnpackFailure.unsafe(entry: entry.name, "it is \(what); device nodes, FIFOs and sockets are never extracted")
        }
        guard !components.isEmpty else {
            // `./`: the directory itself, whose mode is the caller's, not the archive's.
            if entry.kind == .directory { return }
            throw UnpackFailure.unsafe(entry: entry.name, "it names the unpack directory itself")
        }
        for parent in try tree.missingParents(of: components, entry: entry.name) {
            try budget.admitImpliedDirectory(for: entry.name)
            try directory.makeDirectory(parent, mode: 0o755, modified: nil)
            tree.record(.directory, at: parent)
        }
        let path = components.joined(separator: "/")
        let existing = tree[path]
        let mode = entry.permissions & 0o777
        switch (existing, entry.kind) {
        case (.directory?, .directory):
            directory.updateDirectory(path, mode: mode, modified: entry.modified)
            return
        case (.directory?, _):
            throw UnpackFailure.unsafe(entry: entry.name, "it would replace the directory of the same name")
        case (_?, .directory):
            throw UnpackFailure.unsafe(entry: entry.name, "it would replace a file or symlink of the same name with a directory")
        default:
            break
        }

        switch entry.kind {
        case .directory:
            try directory.makeDirectory(path, mode: mode, modified: entry.modified)
            tree.record(.directory, at: path)
        case .file:
            if entry.isEncrypted {
                throw UnpackFailure.corrupt("cannot unpack entry \(UnpackFailure.quoted(entry.name)): it is encrypted, and pkgfetch has no password")
            }
            try removeEarlier(path, existing)
            try writeFile(entry, at: path, mode: mode)
            tree.record(.file, at: path)
        case .symlink(let target):
            if let reason = EntryPathPolicy.refusal(ofSymlinkTarget: target) {
                throw UnpackFailure.unsafe(entry: entry.name, "it is a symlink whose target \(UnpackFailure.quoted(target)) \(reason)")
            }
            try removeEarlier(path, existing)
            if let reason = tree.escape(ofSymlinkAt: components, target: target) {
                throw UnpackFailure.unsafe(entry: entry.name, reason)
            }
            try directory.makeSymlink(path, target: target, modified: entry.modified)
            tree.record(.symlink(target: target), at: path)
        case .hardLink(let target):
            let targetPath = try EntryPathPolicy.components(ofLinkTarget: target, entry: entry.name).joined(separator: "/")
            guard targetPath != path, tree[targetPath] == .file else {
                throw UnpackFailure.unsafe(entry: entry.name, "it is a hard link to \(UnpackFailure.quoted(target)), which is not a regular file extracted before it")
            }
            try removeEarlier(path, existing)
            try directory.makeHardLink(path, to: targetPath)
            tree.record(.file, at: path)
        case .refused:
            break
        }
    }

    /// A file or link seen again replaces the earlier one, as tar does.
    private func removeEarlier(_ path: String, _ existing: ExtractedTree.Node?) throws {
        guard existing != nil else { return }
        try directory.removeFile(path)
        tree.forget(path)
    }

    /// Streams one regular file's data to disk, each block counted before it is written. A block past
    /// the end (after a sparse hole) counts the hole too, and so does a hole at the end.
    private func writeFile(_ entry: ArchiveEntry, at path: String, mode: mode_t) throws {
        if let size = entry.declaredSize { try budget.admitDeclaredSize(size, of: entry.name) }
        let file = try directory.createFile(path)
        var end: Int64 = 0
        do {
            while let block = try nextBlock(of: entry) {
                let blockEnd = block.offset + Int64(block.bytes.count)
                if blockEnd > end { try budget.admit(blockEnd - end, of: entry.name) }
                try directory.write(file, block.bytes, at: block.offset, into: path)
                end = max(end, blockEnd)
            }
            if let size = entry.declaredSize, size > end { try budget.admit(size - end, of: entry.name) }
        } catch {
            close(file)
            throw error
        }
        try directory.finishFile(file, path, size: entry.declaredSize, written: end, mode: mode,
                                 modified: entry.modified, accessed: entry.accessed)
    }

    private func nextBlock(of entry: ArchiveEntry) throws -> (bytes: UnsafeRawBufferPointer, offset: Int64)? {
        do {
            return try reader.nextBlock()
        } catch let failure as ArchiveReader.Failure {
            throw UnpackFailure.corrupt("corrupt archive (expected \(expectedFormat)): in entry \(UnpackFailure.quoted(entry.name)): \(failure.message)")
        }
    }

    /// Why the archive could not be opened: mostly that it is not an archive at all, and then what it is.
    private static func unreadable(_ archive: String, _ failure: ArchiveReader.Failure, expected: ArchiveFormat) -> PkgfetchError {
        guard failure.message.contains("Unrecognized archive format") else {
            return UnpackFailure.corrupt("cannot read the archive (expected \(expected)): \(failure.message)")
        }
        let what = failure.filters.isEmpty
            ? ContentSniffer.describe(file: archive)
            : "\(failure.filters.joined(separator: " and ")) data that holds no tar or zip archive"
        return UnpackFailure.corrupt("not an archive (expected \(expected)): \(what) (libarchive: \(failure.message))")
    }
}
