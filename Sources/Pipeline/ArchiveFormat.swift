/// How a package file is packed. Unpackers are registered by format; the rules infer it from the
/// file name, and the unpacker confirms it by content.
public struct ArchiveFormat: Hashable, Sendable, CustomStringConvertible, Codable {
    public let name: String
    public init(_ name: String) { self.name = name.lowercased() }

    public static let zip = ArchiveFormat("zip")
    public static let tarGzip = ArchiveFormat("tar.gz")
    public static let tarXz = ArchiveFormat("tar.xz")
    public static let tarZstd = ArchiveFormat("tar.zst")
    public static let tar = ArchiveFormat("tar")

    /// Infers the format from a file name's extension; nil when it names no archive format.
    public static func infer(fromFileName fileName: String) -> ArchiveFormat? {
        let lower = fileName.lowercased()
        let table: [(String, ArchiveFormat)] = [
            (".tar.gz", .tarGzip), (".tgz", .tarGzip), (".tar.xz", .tarXz), (".txz", .tarXz),
            (".tar.zst", .tarZstd), (".tzst", .tarZstd), (".tar", .tar), (".zip", .zip),
        ]
        return table.first { lower.hasSuffix($0.0) }?.1
    }

    public var description: String { name }
}
