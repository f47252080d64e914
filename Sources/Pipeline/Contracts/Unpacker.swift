/// Extracts the archive at `archive` into the empty directory `directory`, refusing any entry that
/// would land outside it. Throws `unpack-failed` for a bad archive and `unsafe-archive` for a hostile one.
///
/// Unpacking blocks (file I/O, decompression), so it is synchronous: the runner calls it on a thread
/// of `BlockingIO`, never on Swift's cooperative pool. A long unpack calls
/// `BlockingIO.checkCancellation()` between steps to stop when its run is cancelled.
public protocol Unpacker: Sendable {
    /// Extracts `archive` into the empty `directory` within `limits`; returns what it wrote. Blocks;
    /// the runner calls it on `BlockingIO`.
    func unpack(_ archive: String, format: ArchiveFormat, into directory: String, limits: UnpackLimits) throws -> UnpackReport

    /// As `unpack`, writing only the members `shaping` keeps, under the names it gives them (each
    /// through `ShapingPass`, then every rule a member's name meets), and throwing what its `finish()`
    /// throws. The default refuses any shaping but none: an unpacker that ignored it would install more.
    func unpack(_ archive: String, format: ArchiveFormat, into directory: String, limits: UnpackLimits,
                shaping: Shaping) throws -> UnpackReport
}

extension Unpacker {
    /// Refuses any shaping but none, then unpacks as `unpack(_:format:into:limits:)`: what an unpacker
    /// that does not shape gets.
    public func unpack(_ archive: String, format: ArchiveFormat, into directory: String, limits: UnpackLimits,
                       shaping: Shaping) throws -> UnpackReport {
        guard shaping.isNone else { throw Shaping.unsupported(by: Self.self, format: format) }
        return try unpack(archive, format: format, into: directory, limits: limits)
    }
}

extension Shaping {
    /// The refusal of an unpacker that cannot shape.
    static func unsupported(by unpacker: Any.Type, format: ArchiveFormat) -> PkgfetchError {
        PkgfetchError(.usage, "the unpacker for \(format) (\(unpacker)) cannot choose, strip or rename members")
    }
}

/// Bounds against archive bombs; the defaults fit node packages with room to spare.
public struct UnpackLimits: Sendable, Equatable {
    /// The most bytes an archive may unpack to.
    public var maxTotalBytes: Int64
    /// The most entries an archive may hold.
    public var maxEntries: Int
    /// Unpacked bytes per archive byte.
    public var maxCompressionRatio: Double
    /// Unpacked bytes below which the ratio is not checked: a small package of repetitive text
    /// compresses far better than 200:1 and is no bomb.
    public var ratioExemptBytes: Int64

    /// Limits; the defaults fit node packages with room to spare.
    public init(maxTotalBytes: Int64 = 4 << 30, maxEntries: Int = 100_000, maxCompressionRatio: Double = 200,
                ratioExemptBytes: Int64 = 16 << 20) {
        self.maxTotalBytes = maxTotalBytes
        self.maxEntries = maxEntries
        self.maxCompressionRatio = maxCompressionRatio
        self.ratioExemptBytes = ratioExemptBytes
    }
}

/// What an unpacker wrote.
public struct UnpackReport: Sendable, Equatable {
    /// Entries written.
    public var entries: Int
    /// Bytes written.
    public var bytes: Int64
    /// The format found by content, e.g. "ZIP 2.0 (deflation)".
    public var detectedFormat: String

    /// A report of what was written.
    public init(entries: Int, bytes: Int64, detectedFormat: String) {
        self.entries = entries
        self.bytes = bytes
        self.detectedFormat = detectedFormat
    }
}
