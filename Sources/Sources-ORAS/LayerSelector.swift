import Pipeline
import Unpackers

/// Chooses the layer that is the package file, the way `oras pull` names files: by the layer's
/// `org.opencontainers.image.title`.
///
/// - The layer titled exactly `fileName` wins.
/// - Otherwise, when the manifest has exactly one titled layer, that one is taken: a package
///   repository holds one file per tag, and the name it was pushed under may differ from the
///   CDN's file name (a mirror that renamed it, a different version suffix). Its content is still
///   verified against the layer's digest.
/// - Otherwise `no-matching-content`, naming the titles present.
///
/// The chosen title must be a plain file name: `oras pull` would write it to disk, so a title with
/// `/`, `\`, `..`, or an absolute or drive path is refused as `unsafe-archive`, by the rules archive
/// entries follow (`FileNamePolicy`).
public struct LayerSelector: Sendable {
    public let fileName: String

    public init(fileName: String) { self.fileName = fileName }

    public struct Selection: Sendable, Equatable {
        public var layer: Descriptor
        public var title: String
        /// The layer is a directory oras packed as tar+gzip.
        public var isPackedDirectory: Bool
    }

    public func select(from manifest: ImageManifest, what: String) throws -> Selection {
        let titled = manifest.layers.filter { $0.title != nil }
        let chosen: Descriptor
        if let exact = titled.first(where: { $0.title == fileName }) {
            chosen = exact
        } else if titled.count == 1 {
            chosen = titled[0]
        } else if titled.isEmpty {
            throw PkgfetchError(.noMatchingContent,
                                "\(what): no layer of the manifest has a title (\(Annotation.title)); \(manifest.layers.count) untitled layer(s), expected one titled '\(fileName)'")
        } else {
            let titles = titled.compactMap(\.title).map { "'\($0)'" }.joined(separator: ", ")
            throw PkgfetchError(.noMatchingContent, "\(what): no layer titled '\(fileName)'; layers present: \(titles)")
        }
        let title = chosen.title!
        try Self.checkSafe(title, what: what)
        let unpack = chosen.annotations?[Annotation.unpack]?.lowercased() == "true"
        return Selection(layer: chosen, title: title, isPackedDirectory: unpack)
    }

    /// Refuses titles that are not one plain file name, by the rules for archive entries (`FileNamePolicy`).
    static func checkSafe(_ title: String, what: String) throws {
        do {
            try FileNamePolicy.check(title)
        } catch let failure as PkgfetchError {
            throw PkgfetchError(.unsafeArchive, "\(what): layer title refused: \(failure.message)")
        }
    }
}
