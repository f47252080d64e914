import Pipeline
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One archive unpacked into one directory: entries are read in order, each is checked, then written
/// block by block, and once all are in, every symlink is checked again against the finished tree.
///
/// Names are bytes throughout (`ArchiveEntry`): split on the separator bytes, compared byte for byte.
///
/// What is refused (`unsafe-archive`, naming the entry):
/// - a path that is absolute or has a `..` component, or is longer or deeper than a path can be
///   (`EntryPathPolicy`);
/// - a path whose parent is a symlink or a file, even a symlink that points inside (`ExtractedTree`);
/// - a symlink whose target is absolute or resolves outside, through the symlinks of the archive: on
///   creation, and again at the end, since a later entry can change where an earlier link leads;
/// - a hard link to anything but a regular file extracted before it;
/// - device nodes, FIFOs and sockets;
/// - a name seen again as another type (a directory replaced by a symlink, or the reverse); a file or
///   link seen again replaces the earlier one, as tar does, and a directory seen again keeps the later mode;
/// - passing a limit (`ExtractionBudget`).
/// Shaping (`ShapingPass`) maps each entry's checked path to where it lands, or leaves it out, before
/// any rule above is applied to it: a shaped name is checked as an entry's name again, and the tree's
/// checks (parents, symlinks, hard links) see the shaped names only.
/// What is dropped without refusing: write permission for group and others, set-id and sticky bits
/// (`ArchiveEntry.installedPermissions`), and ownership, which is never restored.
///
/// When anything fails, what was written is removed again (`FileSystem.removeContents(ofDirectory:)`), so the directory is left
/// empty; if that removal fails too, the error says so.
final class ArchiveExtraction {
    private let expectedFormat: ArchiveFormat
    private let reader: ArchiveReader
    private let directory: ExtractionDirectory
    private var budget: ExtractionBudget
    private var tree = ExtractedTree()
    private var shaping: ShapingPass
    /// Entries the shaping left out: read past, counted against the limits, not reported as unpacked.
    private var leftOut = 0
    /// libarchive names a zip's format per entry ("ZIP 2.0 (deflation)", "(uncompressed)" for a
    /// directory), so the name reported is the first regular file's, or else the first entry's.
    private var formatName: String?
    private var formatNameIsFromAFile = false
    /// The entry read last, to say where a damaged archive broke.
    private var lastEntry: [UInt8]?
    /// A zip read by its local headers while it lands: the content, to read its central directory
    /// once it is all there, and what each local header made (`ZipDirectoryCheck`).
    private var streamedZip: LandedContentReader?
    private var zipEntries: [ZipDirectoryCheck.StreamedEntry] = []
    /// Where the entry extracted last was installed, and how many bytes of data it had.
    private var installedPath: [UInt8]?
    private var writtenSize: Int64?

    init(archive: String, expectedFormat: ArchiveFormat, directory: String, limits: UnpackLimits,
         shaping: Shaping = .none) throws {
        self.expectedFormat = expectedFormat
        self.shaping = ShapingPass(shaping)
        var info = stat()
        guard stat(archive, &info) == 0 else {
            throw UnpackFailure.corrupt("cannot read the archive \(archive): \(String(cString: strerror(errno)))")
        }
        self.directory = try ExtractionDirectory(path: directory)
        let compression = ArchiveReader.Compression(of: ContentSignature.leadingBytes(ofFileAt: archive))
        do {
            reader = try ArchiveReader(path: archive, compression: compression)
        } catch let failure as ArchiveReader.Failure {
            throw Self.unreadable(archive, failure, expected: expectedFormat, compression: compression)
        }
        let size = Int64(info.st_size)
        budget = ExtractionBudget(limits: limits, archiveSize: { _ in size })
    }

    /// An extraction of `content` while it lands, when it is a tar archive (compressed once or not) or
    /// a zip (checked against its central directory at the end, `ZipDirectoryCheck`); nil, having
    /// written nothing, for anything else, which is unpacked once verified instead. The
    /// size-relative limits are held against the bytes landed so far: a check that needs more waits
    /// for them, so the same archive is refused or accepted as when unpacked after its download.
    init?(streaming content: LandedContentReader, expectedFormat: ArchiveFormat, directory: String, limits: UnpackLimits,
          shaping: Shaping = .none) throws {
        self.expectedFormat = expectedFormat
        self.shaping = ShapingPass(shaping)
        let leading = try content.leadingBytes(ContentSignature.bytesNeeded)
        guard let format = ContentSignature.identify(leading)?.format, LibarchiveUnpacker.streamedFormats.contains(format) else { return nil }
        self.directory = try ExtractionDirectory(path: directory)
        streamedZip = format == .zip ? content : nil
        do {
            reader = try ArchiveReader(streaming: content, compression: ArchiveReader.Compression(of: leading), zip: format == .zip)
        } catch is ArchiveReader.Failure {
            // Not what its first bytes say: unpacked (and its error told) from the verified file.
            return nil
        }
        budget = ExtractionBudget(limits: limits, archiveSize: { try content.landedSize(atLeast: $0) })
    }

    func run() throws -> UnpackReport {
        do {
            return try extractAll()
        } catch let unstreamable as ZipDirectoryCheck.Unstreamable {
            // Unpacked from the verified file instead, into the emptied directory.
            _ = removingWhatWasWritten(after: PkgfetchError(.unpackFailed, unstreamable.reason))
            throw unstreamable
        } catch {
            throw removingWhatWasWritten(after: PkgfetchError.from(error, default: .unpackFailed))
        }
    }

    private func extractAll() throws -> UnpackReport {
        while let entry = try nextEntry() {
            try BlockingIO.checkCancellation()
            try budget.admitEntry(entry.name)
            let headerOffset = reader.headerPosition
            (installedPath, writtenSize) = (nil, nil)
            let written = try extract(entry)
            if !written { leftOut += 1 }
            if streamedZip != nil {
                zipEntries.append(.init(headerOffset: headerOffset, name: entry.name, isDirectory: entry.kind == .directory,
                                        writtenSize: writtenSize, installedPath: installedPath))
            }
            // Data the entry carries and nobody read is decompressed to be skipped: count it first.
            let unread = entry.kind == .file && written ? 0 : entry.declaredSize ?? 0
            try budget.admitStream(consumed: reader.decompressedBytes, toSkip: unread, of: entry.name)
        }
        try shaping.finish()
        if let content = streamedZip { try checkCentralDirectory(of: content) }
        for id in tree.symlinks {
            guard case .symlink(let target) = tree[id].kind else { continue }
            if let reason = tree.escape(fromDirectory: tree[id].parent, target: target) {
                throw UnpackFailure.unsafe(entry: tree.path(of: id), reason)
            }
        }
        for id in tree.directoriesDeepestFirst {
            try directory.setDirectory(tree.path(of: id), mode: tree[id].mode, modified: tree[id].modified)
        }
        let format = formatName ?? reader.formatName ?? "empty archive"
        let filters = reader.filterNames
        return UnpackReport(entries: budget.entries - leftOut, bytes: budget.bytes,
                            detectedFormat: filters.isEmpty ? format : "\(format), \(filters.joined(separator: ", "))")
    }

    /// Holds the entries unpacked by their local headers against the central directory of the whole
    /// file (waiting for it to land), and gives them the modes only the directory holds.
    private func checkCentralDirectory(of content: LandedContentReader) throws {
        let size = try content.landedSize(atLeast: .max)
        let centralDirectory: ZipCentralDirectory
        do {
            centralDirectory = try ZipCentralDirectory(size: size, maximumEntries: zipEntries.count) { offset, count in
                var bytes = [UInt8](repeating: 0, count: count)
                var filled = 0
                while filled < count {
                    let read = try bytes.withUnsafeMutableBytes {
                        try content.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]), at: offset + Int64(filled))
                    }
                    if read == 0 { break }
                    filled += read
                }
                return Array(bytes.prefix(filled))
            }
        } catch ZipCentralDirectory.Failure.unsupported(let what) {
            throw ZipDirectoryCheck.Unstreamable(reason: what)
        } catch ZipCentralDirectory.Failure.malformed(let what) {
            throw PkgfetchError(.unsafeArchive, "zip refused: \(what)")
        }
        for mode in try ZipDirectoryCheck(streamed: zipEntries).modes(against: centralDirectory) {
            if mode.isDirectory {
                if let id = node(at: try EntryPathPolicy.components(ofEntry: mode.path)) { tree[id].mode = mode.permissions }
            } else {
                try directory.setMode(mode.path, mode.permissions)
            }
        }
    }

    /// Empties the directory after a failure, and says so in the error when that fails too.
    private func removingWhatWasWritten(after failure: PkgfetchError) -> PkgfetchError {
        do {
            try FileSystem.removeContents(ofDirectory: directory.descriptor)
            return failure
        } catch {
            var reported = failure
            reported.message += "; the partly unpacked tree could not be removed: \(PkgfetchError.from(error).message)"
            return reported
        }
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
            // What libarchive cannot read by local headers alone may still unpack from the file.
            if streamedZip != nil { throw ZipDirectoryCheck.Unstreamable(reason: failure.message) }
            let place = lastEntry.map { "after entry \(UnpackFailure.quoted($0))" } ?? "at its first entry"
            throw UnpackFailure.corrupt("corrupt archive (expected \(expectedFormat)): \(place): \(failure.message)")
        }
    }

    /// Writes one entry where the shaping puts it; false when the shaping leaves it out.
    private func extract(_ entry: ArchiveEntry) throws -> Bool {
        let named = try EntryPathPolicy.components(ofEntry: entry.name)
        if case .refused(let what) = entry.kind {
            throw UnpackFailure.unsafe(entry: entry.name, "it is \(what); device nodes, FIFOs and sockets are never extracted")
        }
        guard !named.isEmpty else {
            // `./`: the directory itself, whose mode is the caller's, not the archive's.
            if entry.kind == .directory { return true }
            throw UnpackFailure.unsafe(entry: entry.name, "it names the unpack directory itself")
        }
        guard let shaped = try shaping.place(named, isDirectory: entry.kind == .directory) else { return false }
        // A shaped name is an entry's name again: renamed components meet every rule an archive's do.
        let components = shaped == named ? named : try EntryPathPolicy.components(ofEntry: PathBytes.joined(shaped))
        guard let name = components.last else { return false }
        let parent = try parentDirectory(of: components, entry: entry.name)
        let path = PathBytes.joined(components)
        installedPath = path
        let existing = tree.child(named: name, of: parent)
        let mode = entry.installedPermissions
        switch (existing.map { tree[$0].kind }, entry.kind) {
        case (.directory?, .directory):
            tree[existing!].mode = mode
            tree[existing!].modified = entry.modified
            return true
        case (.directory?, _):
            throw UnpackFailure.unsafe(entry: entry.name, "it would replace the directory of the same name")
        case (_?, .directory):
            throw UnpackFailure.unsafe(entry: entry.name, "it would replace a file or symlink of the same name with a directory")
        default:
            break
        }

        switch entry.kind {
        case .directory:
            try directory.makeDirectory(path)
            let id = tree.add(.directory, named: name, under: parent)
            tree[id].mode = mode
            tree[id].modified = entry.modified
        case .file:
            if entry.isEncrypted {
                throw UnpackFailure.corrupt("cannot unpack entry \(UnpackFailure.quoted(entry.name)): it is encrypted, and pkgfetch has no password")
            }
            try removeEarlier(path, existing)
            try writeFile(entry, at: path, mode: mode)
            _ = tree.add(.file, named: name, under: parent)
        case .symlink(let target):
            if let reason = EntryPathPolicy.refusal(ofSymlinkTarget: target) {
                throw UnpackFailure.unsafe(entry: entry.name, "it is a symlink whose target \(UnpackFailure.quoted(target)) \(reason)")
            }
            try budget.admitSymlinkTarget(target, of: entry.name)
            try removeEarlier(path, existing)
            if let reason = tree.escape(fromDirectory: parent, target: target) {
                throw UnpackFailure.unsafe(entry: entry.name, reason)
            }
            try directory.makeSymlink(path, target: target, modified: entry.modified)
            _ = tree.add(.symlink(target: target), named: name, under: parent)
        case .hardLink(let target):
            let namedTarget = try EntryPathPolicy.components(ofLinkTarget: target, entry: entry.name)
            // Where the shaping put the member it names (nil: nowhere, so nothing is there to link to).
            let shapedTarget = shaping.placeLinkTarget(namedTarget)
            let targetComponents = try shapedTarget.map { try EntryPathPolicy.components(ofLinkTarget: PathBytes.joined($0), entry: entry.name) }
            guard let targetComponents, let linked = node(at: targetComponents), linked != existing, tree[linked].kind == .file else {
                throw UnpackFailure.unsafe(entry: entry.name, "it is a hard link to \(UnpackFailure.quoted(target)), which is not a regular file extracted before it")
            }
            try removeEarlier(path, existing)
            try directory.makeHardLink(path, to: PathBytes.joined(targetComponents))
            _ = tree.add(.file, named: name, under: parent)
        case .refused:
            break
        }
        return true
    }

    /// The directory an entry goes into, made (with the directories above it) when the archive does not
    /// list it. Refuses a path that goes through a symlink (even one pointing inside: that is how
    /// `dir -> .` and `link -> /tmp` tricks reach outside) or through a file.
    private func parentDirectory(of components: [[UInt8]], entry: [UInt8]) throws -> ExtractedTree.NodeID {
        var parent = ExtractedTree.root
        for (depth, component) in components.dropLast().enumerated() {
            if let existing = tree.child(named: component, of: parent) {
                switch tree[existing].kind {
                case .directory:
                    parent = existing
                    continue
                case .symlink:
                    throw UnpackFailure.unsafe(entry: entry, "it would be written through the symlink \(UnpackFailure.quoted(tree.path(of: existing)))")
                case .file, .replaced:
                    throw UnpackFailure.unsafe(entry: entry, "it would be written below the file \(UnpackFailure.quoted(tree.path(of: existing)))")
                }
            }
            try budget.admitImpliedDirectory(for: entry)
            try directory.makeDirectory(PathBytes.joined(Array(components[...depth])))
            parent = tree.add(.directory, named: component, under: parent)
        }
        return parent
    }

    /// The node a path names, without following symlinks; nil when nothing is there.
    private func node(at components: [[UInt8]]) -> ExtractedTree.NodeID? {
        var current = ExtractedTree.root
        for component in components {
            guard tree[current].kind == .directory, let next = tree.child(named: component, of: current) else { return nil }
            current = next
        }
        return current
    }

    /// A file or link seen again replaces the earlier one, as tar does.
    private func removeEarlier(_ path: [UInt8], _ existing: ExtractedTree.NodeID?) throws {
        guard let existing else { return }
        try directory.removeFile(path)
        tree.replace(existing)
    }

    /// Streams one regular file's data to disk, each block counted before it is written. A block past
    /// the end (after a sparse hole) counts the hole too, and so does a hole at the end.
    private func writeFile(_ entry: ArchiveEntry, at path: [UInt8], mode: mode_t) throws {
        if let size = entry.declaredSize { try budget.admitDeclaredSize(size, of: entry.name) }
        let file = try directory.createFile(path)
        var end: Int64 = 0
        do {
            while let block = try nextBlock(of: entry) {
                try BlockingIO.checkCancellation()
                let blockEnd = block.offset + Int64(block.bytes.count)
                if blockEnd > end { try budget.admit(blockEnd - end, of: entry.name) }
                try directory.write(file, block.bytes, at: block.offset, into: path)
                end = max(end, blockEnd)
            }
            if let size = entry.declaredSize, size > end { try budget.admit(size - end, of: entry.name) }
            writtenSize = max(end, entry.declaredSize ?? 0)
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
            if streamedZip != nil { throw ZipDirectoryCheck.Unstreamable(reason: failure.message) }
            throw UnpackFailure.corrupt("corrupt archive (expected \(expectedFormat)): in entry \(UnpackFailure.quoted(entry.name)): \(failure.message)")
        }
    }

    /// Why the archive could not be opened: mostly that it is not an archive at all, and then what it is.
    private static func unreadable(_ archive: String, _ failure: ArchiveReader.Failure, expected: ArchiveFormat,
                                   compression: ArchiveReader.Compression) -> PkgfetchError {
        guard failure.message.contains("Unrecognized archive format") else {
            return UnpackFailure.corrupt("cannot read the archive (expected \(expected)): \(failure.message)")
        }
        let what: String
        if compression == .none {
            what = ContentSniffer.describe(file: archive)
        } else {
            let inner = ArchiveReader.decompressedStart(of: archive, compression)
            let innerCompression = ArchiveReader.Compression(of: inner)
            what = innerCompression != .none
                ? "\(compression.rawValue) data that holds \(innerCompression.rawValue) data again: pkgfetch reads one compression layer"
                : "\(compression.rawValue) data that holds no tar or zip archive (inside, \(ContentSniffer.describe(inner)))"
        }
        return UnpackFailure.corrupt("not an archive (expected \(expected)): \(what) (libarchive: \(failure.message))")
    }
}
