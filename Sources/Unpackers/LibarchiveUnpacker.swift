#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// The unpacker for every archive format pkgfetch knows, built on libarchive's streaming reader.
///
/// The format is found by content; the plan's format is only a hint, used in messages. Entries are
/// written by this module's own code (not `archive_write_disk`) so that each safety rule is checked in
/// one place: see `ArchiveExtraction` for the rules and `ExtractionDirectory` for the system calls.
public struct LibarchiveUnpacker: StreamingUnpacker {
    /// The formats to register this unpacker for.
    public static let formats: [ArchiveFormat] = [.zip, .tarGzip, .tarBzip2, .tarXz, .tarZstd, .tar]
    /// The formats unpacked while they download: tar, compressed once or not, and zip. A zip is read by
    /// its local headers, then held against its central directory, at the end, which is what says which
    /// entries there are (and what `unzip` extracts): the tree is installed only if both agree
    /// (`ZipDirectoryCheck`); what local headers cannot show (symlinks, zip64) is unpacked from the file.
    public static let streamedFormats: Set<ArchiveFormat> = [.tar, .tarGzip, .tarBzip2, .tarXz, .tarZstd, .zip]

    public init() {}

    /// Extracts on the calling thread, which it blocks for as long as the archive takes (the runner
    /// calls it on `BlockingIO`). The thread-local locale set for libarchive's name conversion stays on
    /// that thread throughout. A cancelled run stops the extraction at the next entry or block
    /// (`BlockingIO.checkCancellation()`).
    public func unpack(_ archive: String, format: ArchiveFormat, into directory: String,
                       limits: UnpackLimits) throws -> UnpackReport {
        try unpack(archive, format: format, into: directory, limits: limits, shaping: .none)
    }

    /// As `unpack`, each entry's name shaped (`ShapingPass`) before any rule of `ArchiveExtraction`
    /// looks at it, so the rules hold for the names installed.
    public func unpack(_ archive: String, format: ArchiveFormat, into directory: String,
                       limits: UnpackLimits, shaping: Shaping) throws -> UnpackReport {
        try UTF8Locale.whileActive {
            try ArchiveExtraction(archive: archive, expectedFormat: format, directory: directory, limits: limits,
                                  shaping: shaping).run()
        }
    }

    /// Whether `format` is one of `streamedFormats`.
    public func streams(_ format: ArchiveFormat) -> Bool { Self.streamedFormats.contains(format) }

    /// As `unpack`, reading `content` while it lands, when its first bytes say it is one of
    /// `streamedFormats` (nil otherwise). The same checks and limits hold as for a file.
    public func unpack(streaming content: LandedContentReader, format: ArchiveFormat, into directory: String,
                       limits: UnpackLimits) throws -> UnpackReport? {
        try unpack(streaming: content, format: format, into: directory, limits: limits, shaping: .none)
    }

    /// As `unpack(streaming:…)`, shaped as the file is.
    public func unpack(streaming content: LandedContentReader, format: ArchiveFormat, into directory: String,
                       limits: UnpackLimits, shaping: Shaping) throws -> UnpackReport? {
        do {
            return try UTF8Locale.whileActive {
                try ArchiveExtraction(streaming: content, expectedFormat: format, directory: directory, limits: limits,
                                      shaping: shaping)?.run()
            }
        } catch is ZipDirectoryCheck.Unstreamable {
            return nil
        }
    }
}
