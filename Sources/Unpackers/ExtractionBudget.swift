import Pipeline

/// Counts entries and unpacked bytes against `UnpackLimits` while the archive is read, so that a bomb
/// is stopped before its bytes reach the disk: a declared size is checked before an entry is opened,
/// and every block before it is written, since a zip can declare less than it holds.
///
/// Bytes are a file's logical size (a sparse file's holes count), and the entry-count limit also
/// counts the directories an entry only implies: `a/b/…/z/f` makes 26 directories from one entry.
///
/// The decompressed stream is held to the same limits, so that what is never written cannot run up
/// the work either: headers (a pax record can be a megabyte), padding, and data an entry carries that
/// is skipped (a directory or link that declares a size). It may exceed the data bytes allowed by
/// `streamAllowancePerEntry` per entry, which is far more than real headers take.
struct ExtractionBudget {
    let limits: UnpackLimits
    /// The archive's size as far as it is known, once at least the bytes given are (fewer only when
    /// the whole archive is shorter): the file's size, or for an archive read while it downloads the
    /// bytes landed so far, waiting for more. The compression ratio is checked against it, so an
    /// archive is held to the same limit whether unpacked after its download or during it.
    private let archiveSize: (_ atLeast: Int64) throws -> Int64
    /// Entries of the archive.
    private(set) var entries = 0
    /// Directories made for entries whose parents the archive does not list.
    private(set) var impliedDirectories = 0
    private(set) var bytes: Int64 = 0
    /// Bytes of symlink targets kept in memory until the final check.
    private(set) var symlinkTargetBytes = 0

    static let streamAllowancePerEntry: Int64 = 8 << 10
    /// Symlink targets are kept until every entry is in; this bounds the memory they take.
    static let maxSymlinkTargetBytes = 16 << 20

    init(limits: UnpackLimits, archiveSize: @escaping (_ atLeast: Int64) throws -> Int64) {
        self.limits = limits
        self.archiveSize = archiveSize
    }

    mutating func admitEntry(_ name: [UInt8]) throws {
        entries += 1
        try checkCount(entry: name)
    }

    mutating func admitImpliedDirectory(for name: [UInt8]) throws {
        impliedDirectories += 1
        try checkCount(entry: name)
    }

    private func checkCount(entry name: [UInt8]) throws {
        if entries + impliedDirectories > limits.maxEntries {
            throw UnpackFailure.unsafe(entry: name, "the archive makes more than \(limits.maxEntries) entries and directories (entry-count limit)")
        }
    }

    mutating func admitSymlinkTarget(_ target: [UInt8], of name: [UInt8]) throws {
        symlinkTargetBytes += target.count
        if symlinkTargetBytes > Self.maxSymlinkTargetBytes {
            throw UnpackFailure.unsafe(entry: name, "the archive's symlink targets add up to more than \(Self.maxSymlinkTargetBytes) bytes (symlink-target limit)")
        }
    }

    /// Checks an entry's declared size before anything of it is written.
    func admitDeclaredSize(_ size: Int64, of name: [UInt8]) throws {
        try check(total: bytes.addingReportingOverflow(size).overflow ? .max : bytes + size, entry: name)
    }

    /// Checks, then counts, bytes about to be added to a file.
    mutating func admit(_ count: Int64, of name: [UInt8]) throws {
        try check(total: bytes.addingReportingOverflow(count).overflow ? .max : bytes + count, entry: name)
        bytes += count
    }

    /// Checks the decompressed stream: `consumed` bytes read so far, and `toSkip` more that reading the
    /// next header will skip (data of an entry that was not written).
    func admitStream(consumed: Int64, toSkip: Int64, of name: [UInt8]) throws {
        let total = consumed.addingReportingOverflow(max(0, toSkip)).overflow ? .max : consumed + max(0, toSkip)
        let allowance = Int64(entries + impliedDirectories) * Self.streamAllowancePerEntry
        if total - allowance > limits.maxTotalBytes {
            throw UnpackFailure.unsafe(entry: name, "the decompressed stream would pass \(limits.maxTotalBytes) bytes, headers and skipped data included (total-size limit)")
        }
        if total - allowance > limits.ratioExemptBytes, let archiveBytes = try archiveBytes(tooFewFor: total - allowance) {
            throw UnpackFailure.unsafe(entry: name, "the decompressed stream would pass \(formatted(limits.maxCompressionRatio))× the archive's \(archiveBytes) bytes, headers and skipped data included (compression-ratio limit)")
        }
    }

    private func check(total: Int64, entry name: [UInt8]) throws {
        if total > limits.maxTotalBytes {
            throw UnpackFailure.unsafe(entry: name, "unpacked size would pass \(limits.maxTotalBytes) bytes (total-size limit)")
        }
        if total > limits.ratioExemptBytes, let archiveBytes = try archiveBytes(tooFewFor: total) {
            throw UnpackFailure.unsafe(entry: name, "unpacked size would pass \(formatted(limits.maxCompressionRatio))× the archive's \(archiveBytes) bytes (compression-ratio limit)")
        }
    }

    /// The archive's size when it is too small for `unpacked` bytes within the compression ratio;
    /// nil when it is large enough.
    private func archiveBytes(tooFewFor unpacked: Int64) throws -> Int64? {
        let needed = (Double(unpacked) / limits.maxCompressionRatio).rounded(.up)
        let size = try archiveSize(needed < Double(Int64.max) ? Int64(needed) : .max)
        return Double(unpacked) > Double(size) * limits.maxCompressionRatio ? size : nil
    }

    private func formatted(_ ratio: Double) -> String {
        ratio == ratio.rounded() && abs(ratio) < 1e15 ? String(Int64(ratio)) : String(ratio)
    }
}
