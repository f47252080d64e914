import Pipeline

/// Counts entries and unpacked bytes against `UnpackLimits` while the archive is read, so that a bomb
/// is stopped before its bytes reach the disk: a declared size is checked before an entry is opened,
/// and every block before it is written, since a zip can declare less than it holds.
///
/// Bytes are a file's logical size (a sparse file's holes count), and the entry-count limit also
/// counts the directories an entry only implies: `a/b/…/z/f` makes 26 directories from one entry.
struct ExtractionBudget {
    let limits: UnpackLimits
    let archiveBytes: Int64
    /// Entries of the archive.
    private(set) var entries = 0
    /// Directories made for entries whose parents the archive does not list.
    private(set) var impliedDirectories = 0
    private(set) var bytes: Int64 = 0

    init(limits: UnpackLimits, archiveBytes: Int64) {
        self.limits = limits
        self.archiveBytes = archiveBytes
    }

    mutating func admitEntry(_ name: String) throws {
        entries += 1
        try checkCount(entry: name)
    }

    mutating func admitImpliedDirectory(for name: String) throws {
        impliedDirectories += 1
        try checkCount(entry: name)
    }

    private func checkCount(entry name: String) throws {
        if entries + impliedDirectories > limits.maxEntries {
            throw UnpackFailure.unsafe(entry: name, "the archive makes more than \(limits.maxEntries) entries and directories (entry-count limit)")
        }
    }

    /// Checks an entry's declared size before anything of it is written.
    func admitDeclaredSize(_ size: Int64, of name: String) throws {
        try check(total: bytes.addingReportingOverflow(size).overflow ? .max : bytes + size, entry: name)
    }

    /// Checks, then counts, bytes about to be added to a file.
    mutating func admit(_ count: Int64, of name: String) throws {
        try check(total: bytes.addingReportingOverflow(count).overflow ? .max : bytes + count, entry: name)
        bytes += count
    }

    private func check(total: Int64, entry name: String) throws {
        if total > limits.maxTotalBytes {
            throw UnpackFailure.unsafe(entry: name, "unpacked size would pass \(limits.maxTotalBytes) bytes (total-size limit)")
        }
        if total > limits.ratioExemptBytes, Double(total) > Double(archiveBytes) * limits.maxCompressionRatio {
            throw UnpackFailure.unsafe(entry: name, "unpacked size would pass \(formatted(limits.maxCompressionRatio))× the archive's \(archiveBytes) bytes (compression-ratio limit)")
        }
    }

    private func formatted(_ ratio: Double) -> String {
        ratio == ratio.rounded() && abs(ratio) < 1e15 ? String(Int64(ratio)) : String(ratio)
    }
}
