import CSystem
import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A file being fetched, owned by the runner. Bytes are copied into 256 KiB blocks that a second thread
/// hashes (SHA-256) and writes, so receiving, hashing and writing overlap on two cores. A ranged copy
/// may also place bytes ahead of that in-order prefix (`write(_:at:)`); the second thread reads them
/// back from the page cache and hashes them once the prefix reaches them (`takeWritten`), so what is
/// hashed is always the file's contiguous prefix. It keeps what earlier attempts wrote, so the runner can resume.
package final class StagingFile: @unchecked Sendable {
    /// Where the content is: the staging file, or a borrowed local copy (see `borrow`).
    package var path: String { borrowed?.path ?? stagingPath }
    private let stagingPath: String
    private let writer: BlockWriter
    private var current: UnsafeMutableRawBufferPointer?
    private var filled = 0
    private var borrowed: BorrowedFile?
    /// Bytes accepted so far (written or queued to be).
    package private(set) var byteCount: Int64 = 0
    /// What becomes of the file once fetched.
    package let role: Role
    /// The in-order prefix hashed and written so far, which a streamed unpack follows. The writer
    /// thread reports it as each block is hashed and written, and nothing else does.
    package let landed = LandedBytes()

    static let blockSize = 256 << 10

    /// What becomes of the file once fetched, which decides how its pages are written.
    package enum Role: Sendable {
        /// It is installed as it is. Each block's writeback starts as soon as it is written and the
        /// block is dropped from the page cache a few MiB later: a 1 GiB package never holds 1 GiB of
        /// dirty memory (which a node needs for other things, and which is slow to allocate on some
        /// VMs), and `sync()` has little left to do.
        case installed
        /// It is read once by an unpacker, then deleted: its pages stay cached for the unpacker, and a
        /// local copy (a cache hit) may be borrowed instead of copied.
        case unpacked
    }

    /// Creates (or truncates) the file at `path`. `adopting`: keeps the bytes already there (a killed
    /// run's partial download, handed over by `StagingArea`) as the first bytes of the content, up to
    /// `trusting` of them when given (the rest, written ahead by a ranged copy, is cut off); they are
    /// read and hashed now, so the digest checked at the end covers them as much as the bytes fetched.
    package init(path: String, role: Role = .unpacked, adopting: Bool = false, trusting: Int64? = nil) throws {
        stagingPath = path
        self.role = role
        let descriptor = open(path, O_CREAT | (adopting ? 0 : O_TRUNC) | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw PkgfetchError(.destinationIO, "cannot create staging file \(path): \(String(cString: strerror(errno)))")
        }
        record = ResumeRecordFile(path: path + ".resume")
        writer = BlockWriter(descriptor: descriptor, path: path, blockSize: Self.blockSize, streamToDisk: role == .installed,
                             landed: landed, record: record)
        var info = stat()
        if adopting, let trusting, fstat(descriptor, &info) == 0, Int64(info.st_size) > trusting, ftruncate(descriptor, off_t(trusting)) != 0 {
            throw PkgfetchError(.destinationIO, "cannot cut staging file \(path) to its staged bytes: \(String(cString: strerror(errno)))")
        }
        if adopting {
            byteCount = try writer.takeOverExisting()
            landed.advance(by: Int(byteCount))
        }
    }

    /// Where `recordResumable` writes: beside the staging file.
    var resumeRecordPath: String { record.path }
    private let record: ResumeRecordFile

    /// Records, beside the file, which source and version its bytes are, so a run that finds this one
    /// killed can continue them (`StagingArea`); once bytes were placed ahead, also how many are in order.
    func recordResumable(_ record: ResumeRecord) {
        self.record.set(record, staged: landed.snapshot.count)
    }

    /// Places `bytes` at `offset`, beyond the in-order prefix, straight into the file (not hashed yet:
    /// `takeWritten` does once the prefix reaches them). Safe from any thread, alongside `write`.
    package func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        guard borrowed == nil else { throw PkgfetchError(.destinationIO, "cannot place bytes in a borrowed file") }
        // The record says first that only the prefix is to be trusted: a kill -9 from now leaves bytes ahead of it.
        record.placingAhead(staged: landed.snapshot.count)
        try writer.place(bytes, at: offset)
    }

    /// Takes the next `count` bytes, already placed in the file by `write(_:at:)`, into the in-order
    /// prefix: they are read back (from the page cache) and hashed in turn.
    package func takeWritten(_ count: Int) throws {
        guard count > 0 else { return }
        try submitCurrent()
        try writer.submitReadBack(count)
        byteCount += Int64(count)
    }

    /// For an `.unpacked` file: takes the open local file `descriptor` at `name` (whose bytes the caller
    /// then passes to `write`, to be hashed but not written) as the content, instead of copying it.
    /// Returns false, changing nothing, for an `.installed` file, once bytes were written, or when a
    /// user other than root or us could write the file or its directory (`StrictModes`): such a file
    /// could be rewritten between the hash and the unpack without a trace in its size or times, so its
    /// bytes are copied as they are hashed. `confirmUnchanged()` after the unpack tells whether a
    /// borrowed file was written to meanwhile (by root or us).
    package func borrow(_ descriptor: Int32, describedAs name: String) throws -> Bool {
        guard role == .unpacked, byteCount == 0, current == nil, StrictModes.onlyRootOrUsCanWrite(descriptor, at: name) else { return false }
        let borrowed = try BorrowedFile(descriptor, name: name)
        try writer.setHashOnly(true)
        self.borrowed = borrowed
        return true
    }

    /// Throws when a borrowed file changed (size, modification or change time) since it was borrowed,
    /// so what was unpacked may not be what was hashed. Nothing to check for a file of our own.
    package func confirmUnchanged() throws {
        try borrowed?.confirmUnchanged()
    }

    deinit {
        if let current { writer.recycle(current) }
        writer.close()
    }

    /// Appends bytes; they are hashed and written in order.
    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            if current == nil { current = try writer.takeFree() }
            let block = current!
            let count = min(block.count - filled, bytes.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: block[filled..<(filled + count)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
            filled += count
            offset += count
            if filled == block.count { try submitCurrent() }
        }
        byteCount += Int64(bytes.count)
    }

    /// Appends the bytes of `data`.
    package func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Drops everything written (or borrowed) so far: the next byte written is byte 0 again.
    package func reset() throws {
        // The record goes first: bytes of no recorded version are never continued by a later run (and
        // the writer thread, still draining, rewrites no record from here on).
        record.restart()
        if unlink(resumeRecordPath) != 0, errno != ENOENT {
            throw PkgfetchError(.destinationIO, "cannot remove \(resumeRecordPath): \(String(cString: strerror(errno)))")
        }
        try submitCurrent()
        try writer.restart()
        if borrowed != nil {
            borrowed = nil
            try writer.setHashOnly(false)
        }
        byteCount = 0
    }

    /// Waits for every byte to be written and returns the content's digest and size so far.
    package func finish() throws -> (digest: SHA256Digest, size: Int64) {
        try submitCurrent()
        let digest = try writer.digest()
        try writer.cutPlacedBeyondPrefix()
        landed.finish()
        return (digest, byteCount)
    }

    /// Flushes and forces the content to disk, so a rename after it cannot expose an empty file after a crash.
    package func sync() throws {
        try submitCurrent()
        try writer.sync()
    }

    private func submitCurrent() throws {
        guard let block = current else { return }
        current = nil
        if filled > 0 {
            try writer.submit(block, count: filled)
        } else {
            writer.recycle(block)
        }
        filled = 0
    }
}

/// The second thread of a `StagingFile`: hashes and writes full blocks in the order submitted, from a
/// small fixed pool so memory stays flat (4 blocks) whatever the file size.
private final class BlockWriter: @unchecked Sendable {
    private let descriptor: Int32
    private let path: String
    private let condition = Condition()
    private var free: [UnsafeMutableRawBufferPointer]
    /// What the thread does next, in order: hash and write a block, or read back and hash bytes placed ahead.
    private enum Work {
        case block(UnsafeMutableRawBufferPointer, Int)
        case readBack(Int)
    }
    private var queue: [Work] = []
    /// Set once bytes were placed ahead of the prefix (`place`): the file may extend beyond it.
    private var placed = false
    /// Where read-back bytes go to be hashed (allocated on the first read-back).
    private var readBuffer: UnsafeMutableRawBufferPointer?
    private let record: ResumeRecordFile
    private var busy = false
    private var failure: PkgfetchError?
    private var hasher = SHA256()
    private var written: Int64 = 0
    private var closed = false
    private var threadStarted = false

    private let streamToDisk: Bool
    private let landed: LandedBytes
    /// Hash blocks without writing them (the content is a borrowed file).
    private var hashOnly = false
    /// Bytes below this offset have been offered to the page cache to drop.
    private var dropped: Int64 = 0
    /// How far behind the last write pages are dropped: by then their writeback has usually finished.
    static let dropLag: Int64 = 8 << 20

    init(descriptor: Int32, path: String, blockSize: Int, streamToDisk: Bool, landed: LandedBytes, record: ResumeRecordFile) {
        self.record = record
        self.descriptor = descriptor
        self.path = path
        self.streamToDisk = streamToDisk
        self.landed = landed
        free = (0..<4).map { _ in .allocate(byteCount: blockSize, alignment: 4096) }
    }

    func takeFree() throws -> UnsafeMutableRawBufferPointer {
        condition.lock()
        defer { condition.unlock() }
        while free.isEmpty, failure == nil { condition.wait() }
        if let failure { throw failure }
        return free.removeLast()
    }

    func recycle(_ block: UnsafeMutableRawBufferPointer) {
        condition.lock()
        free.append(block)
        condition.broadcast()
        condition.unlock()
    }

    func submit(_ block: UnsafeMutableRawBufferPointer, count: Int) throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure {
            free.append(block)
            throw failure
        }
        enqueue(.block(block, count))
    }

    /// Under the lock.
    private func enqueue(_ work: Work) {
        queue.append(work)
        if !threadStarted {
            threadStarted = true
            DetachedThread.start(stackSize: 256 * 1024) { [self] in self.run() }  // the thread keeps the writer alive until it ends
        }
        condition.broadcast()
    }

    /// Queues reading back and hashing the next `count` bytes of the file (placed there by `place`).
    func submitReadBack(_ count: Int) throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        enqueue(.readBack(count))
    }

    /// Writes `bytes` at `offset` now, on the calling thread.
    func place(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        condition.withLock { placed = true }
        if let error = writeAll(bytes, at: offset) { throw error }
    }

    /// Once everything is hashed: cuts off what lies beyond the prefix (nothing, after a whole ranged copy).
    func cutPlacedBeyondPrefix() throws {
        try condition.withLock {
            guard placed, !hashOnly, ftruncate(descriptor, off_t(written)) != 0 else { return }
            throw PkgfetchError(.destinationIO, "cannot truncate staging file \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Blocks until everything submitted is written; rethrows a write failure.
    private func drain() throws {
        condition.lock()
        defer { condition.unlock() }
        while !queue.isEmpty || busy { condition.wait() }
        if let failure { throw failure }
    }

    func digest() throws -> SHA256Digest {
        try drain()
        return condition.withLock { SHA256Digest(hasher.finalize()) }
    }

    /// Takes the bytes already in the file as written: hashes them from byte 0 and appends after them.
    /// Returns their count.
    func takeOverExisting() throws -> Int64 {
        try drain()
        return try condition.withLock {
            var offset: Int64 = 0
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
            defer { buffer.deallocate() }
            while true {
                let count = pread(descriptor, buffer.baseAddress, buffer.count, off_t(offset))
                if count < 0, errno == EINTR { continue }
                guard count >= 0 else {
                    throw PkgfetchError(.destinationIO, "cannot read staging file \(path): \(String(cString: strerror(errno)))")
                }
                if count == 0 { break }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                offset += Int64(count)
            }
            guard lseek(descriptor, off_t(offset), SEEK_SET) == off_t(offset) else {
                throw PkgfetchError(.destinationIO, "cannot seek in staging file \(path): \(String(cString: strerror(errno)))")
            }
            written = offset
            dropped = 0
            return offset
        }
    }

    func restart() throws {
        try drain()
        // Readers of the old content learn it is gone before the file shrinks under them.
        landed.restart()
        try condition.withLock {
            guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) == 0 else {
                throw PkgfetchError(.destinationIO, "cannot truncate staging file \(path): \(String(cString: strerror(errno)))")
            }
            hasher = SHA256()
            written = 0
            dropped = 0
            placed = false
        }
    }

    func setHashOnly(_ value: Bool) throws {
        try drain()
        condition.withLock { hashOnly = value }
    }

    func sync() throws {
        try drain()
        guard fsync(descriptor) == 0 else {
            throw PkgfetchError(.destinationIO, "cannot sync \(path): \(String(cString: strerror(errno)))")
        }
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        while busy || (!queue.isEmpty && threadStarted) { condition.wait() }
        condition.unlock()
        Glibc.close(descriptor)
        for block in free { block.deallocate() }
        for case .block(let block, _) in queue { block.deallocate() }
        readBuffer?.deallocate()
    }

    private func run() {
        condition.lock()
        while true {
            while queue.isEmpty, !closed { condition.wait() }
            if queue.isEmpty, closed { break }
            let work = queue.removeFirst()
            busy = true
            let writes = !hashOnly
            condition.unlock()
            var error: PkgfetchError?
            switch work {
            case .block(let block, let count):
                let bytes = UnsafeRawBufferPointer(rebasing: block[0..<count])
                hasher.update(bufferPointer: bytes)
                if writes {
                    error = writeAll(bytes, at: written)
                    if error == nil { land(count) }
                } else {
                    landed.advance(by: count)
                }
            case .readBack(let count):
                error = readBack(count)
            }
            condition.lock()
            busy = false
            if let error, failure == nil { failure = error }
            if case .block(let block, _) = work { free.append(block) }
            condition.broadcast()
        }
        condition.unlock()
    }

    /// Takes `count` bytes just written at `written` into the prefix. Here, and only here, bytes join
    /// the hashed, in-order prefix.
    private func land(_ count: Int) {
        written += Int64(count)
        if streamToDisk { streamBehind(Int64(count)) }
        landed.advance(by: count)
        record.prefixReached(written)
    }

    /// Reads back `count` bytes at `written` (placed ahead earlier, so in the page cache) and hashes them.
    private func readBack(_ count: Int) -> PkgfetchError? {
        let buffer = readBuffer ?? .allocate(byteCount: StagingFile.blockSize, alignment: 4096)
        readBuffer = buffer
        var left = count
        while left > 0 {
            let read = pread(descriptor, buffer.baseAddress, min(buffer.count, left), off_t(written))
            if read < 0, errno == EINTR { continue }
            guard read > 0 else {
                return PkgfetchError(.destinationIO, "cannot read back staging file \(path): \(read < 0 ? String(cString: strerror(errno)) : "it ends early")")
            }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<read]))
            left -= read
            land(read)
        }
        return nil
    }

    /// Starts writeback of the block just written and drops the pages `dropLag` behind it. Neither
    /// call waits for the disk; pages not yet clean simply stay cached.
    private func streamBehind(_ count: Int64) {
        _ = csystem_start_writeback(descriptor, written - count, count)
        let upTo = written - Self.dropLag
        if upTo > dropped {
            _ = csystem_drop_cached(descriptor, dropped, upTo - dropped)
            dropped = upTo
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer, at position: Int64) -> PkgfetchError? {
        var offset = 0
        while offset < bytes.count {
            let written = pwrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset, off_t(position) + off_t(offset))
            if written < 0 {
                if errno == EINTR { continue }
                return PkgfetchError(.destinationIO, "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        return nil
    }
}

/// A local file taken as a staging file's content (`StagingFile.borrow`): held open, so replacing it
/// changes nothing, and checked after use for any change to it meanwhile (a write moves its size or
/// modification time; a write that puts those back still moves its change time).
private final class BorrowedFile {
    let descriptor: Int32
    let name: String
    private let before: stat

    init(_ descriptor: Int32, name: String) throws {
        let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        var info = stat()
        guard copy >= 0, fstat(copy, &info) == 0 else {
            if copy >= 0 { Glibc.close(copy) }
            throw PkgfetchError(.noSource, "cannot use \(name): \(String(cString: strerror(errno)))")
        }
        self.descriptor = copy
        self.name = name
        before = info
    }

    deinit { Glibc.close(descriptor) }

    /// The same open file, by a path any reader can open.
    var path: String { "/proc/self/fd/\(descriptor)" }

    func confirmUnchanged() throws {
        var now = stat()
        guard fstat(descriptor, &now) == 0, now.st_size == before.st_size,
              now.st_mtim.tv_sec == before.st_mtim.tv_sec, now.st_mtim.tv_nsec == before.st_mtim.tv_nsec,
              now.st_ctim.tv_sec == before.st_ctim.tv_sec, now.st_ctim.tv_nsec == before.st_ctim.tv_nsec else {
            throw PkgfetchError(.integrityMismatch, "\(name) changed (its size or times) while it was verified and unpacked; nothing was installed")
        }
    }
}

/// The resume record beside a staging file (`ResumeRecord`), kept true as the file is written: once a
/// ranged copy places bytes ahead of the in-order prefix, the record says how many bytes the prefix
/// holds (`staged`), first before the first byte is placed ahead, then again as the prefix grows by
/// `step`. A run that adopts the file after a kill -9 cuts it there, so it never trusts a hole.
/// Written whole (a temporary file renamed), best effort.
final class ResumeRecordFile: @unchecked Sendable {
    let path: String
    private let lock = Lock()
    /// The record last set for the file's version; nil: none (no resume).
    private var base: ResumeRecord?
    /// Set once bytes were placed ahead of the prefix: from then on the record names the prefix.
    private var ahead = false
    /// The prefix the record names.
    private var recordedPrefix: Int64 = 0
    /// How much the prefix grows between rewrites (a rename every 8 MiB costs nothing next to the bytes).
    static let step: Int64 = 8 << 20

    init(path: String) { self.path = path }

    /// The record for the version now staged, of which `staged` bytes are hashed in order.
    func set(_ record: ResumeRecord, staged: Int64) {
        lock.withLock {
            base = record
            base?.staged = nil
            if ahead { write(prefix: staged) } else { write(base!) }
        }
    }

    /// Bytes are about to be placed ahead of the `staged` bytes hashed in order.
    func placingAhead(staged: Int64) {
        lock.withLock {
            guard !ahead else { return }
            ahead = true
            write(prefix: staged)
        }
    }

    /// The hashed prefix now holds `staged` bytes.
    func prefixReached(_ staged: Int64) {
        lock.withLock {
            guard ahead, staged >= recordedPrefix + Self.step else { return }
            write(prefix: staged)
        }
    }

    /// The file is empty again (its record was removed first).
    func restart() {
        lock.withLock {
            base = nil
            ahead = false
            recordedPrefix = 0
        }
    }

    /// Under the lock.
    private func write(prefix: Int64) {
        guard var record = base else { return }
        record.staged = prefix
        recordedPrefix = prefix
        write(record)
    }

    /// Under the lock.
    private func write(_ record: ResumeRecord) {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        let bytes = record.encoded
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        Glibc.close(descriptor)
        if written != bytes.count || rename(temporary, path) != 0 { unlink(temporary) }
    }
}
