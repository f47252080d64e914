import Pipeline

/// Counts entries and unpacked bytes against `UnpackLimits` while the archive is read, so that a bomb
/// is stopped before its bytes reach the disk: a declared size is checked before an entry is opened,
/// and every block before it is written, since a zip can declare less than it holds.
struct ExtractionBudget {
    let limits: UnpackLimits
    let archiveBytes: Int64
    private(set) var entries = 0
    private(set) var bytes: Int64 = 0

    init(limits: UnpackLimits, archiveBytes: Int64) {
        self.limits = limits
        self.archiveBytes = archiveBytes
    }

    mutating func admitEntry(_ name: String) throws {
        entries += 1
        if entries > limits.maxEntries {
            throw UnpackFailure.unsafe(entry: name, "the archive has more than \(limits.maxEntries) entries (entry-count limit)")
        }
    }

    /// Checks an entry's declared size before anything of it is written.
    func admitDeclaredSize(_ size: Int64, of name: String) throws {
        try check(total: bytes.addingReportingOverflow(size).overflow ? .max : bytes + size, entry: name)
    }

    /// Checks, then counts, a block about to be written.
    mutating func admit(blockOf count: Int, of name: String) throws {
        try check(total: bytes + Int64(count), entry: name)
        bytes += Int64(count)
    }

    private func check(total: Int64, entry name: String) throws {
        if total > limits.maxTotalBytes {
            throw UnpackFailure.unsafe(entry: name, "unpacked size would pass \(limits.maxTotalBytes) bytes (total-size limit)")
        }
        if Double(total) > Double(archiveBytes) * limits.maxCompressionRatio {
            throw UnpackFailure.unsafe(entry: name, "unpacked size would pass \(formatted(limits.maxCompressionRatio))× the archive's \(archiveBytes) bytes (compression-ratio limit)")
        }
    }

    private func formatted(_ ratio: Double) -> String {
        ratio == ratio.rounded() && abs(ratio) < 1e15 ? String(Int64(ratio)) : String(ratio)
    }
}
