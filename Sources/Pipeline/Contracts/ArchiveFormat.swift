/// How a package file is packed. Unpackers are registered by format; the rules infer it from the
/// file name, and the unpacker confirms it by content.
public struct ArchiveFormat: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The format's name (`zip`, `tar.gz`, …), lower case.
    public let name: String
    /// A format by name (any case).
    public init(_ name: String) { self.name = name.lowercased() }

    /// A zip archive.
    public static let zip = ArchiveFormat("zip")
    /// A gzip-compressed tar archive.
    public static let tarGzip = ArchiveFormat("tar.gz")
    /// An xz-compressed tar archive.
    public static let tarXz = ArchiveFormat("tar.xz")
    /// A zstd-compressed tar archive.
    public static let tarZstd = ArchiveFormat("tar.zst")
    /// A bzip2-compressed tar archive.
    public static let tarBzip2 = ArchiveFormat("tar.bz2")
    /// An uncompressed tar archive.
    public static let tar = ArchiveFormat("tar")

    /// Infers the format from a file name's extension; nil when it names no archive format.
    public static func infer(fromFileName fileName: String) -> ArchiveFormat? {
        let lower = fileName.lowercased()
        let table: [(String, ArchiveFormat)] = [
            (".tar.gz", .tarGzip), (".tgz", .tarGzip), (".tar.xz", .tarXz), (".txz", .tarXz),
            (".tar.zst", .tarZstd), (".tzst", .tarZstd), (".tar.bz2", .tarBzip2), (".tbz2", .tarBzip2), (".tbz", .tarBzip2),
            (".tar", .tar), (".zip", .zip),
        ]
        return table.first { lower.hasSuffix($0.0) }?.1
    }

    /// The format of a file's content when nothing else says (`ContentSignature`): nil for a file that
    /// is no archive at all, which is placed as it is.
    public static func identify(contentOf path: String) -> ArchiveFormat? {
        ContentSignature.identify(fileAt: path)?.format
    }

    /// The format's name.
    public var description: String { name }
}
