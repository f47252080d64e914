import Pipeline

/// The layer of a reference's manifest that is the package file, with the digest and size it must
/// have: what a pull downloads, and what a cached copy is checked against (`describe`) without the blob.
struct ChosenLayer {
    var reference: Reference
    var digest: Pipeline.SHA256Digest
    var size: Int64
    /// The layer is a directory oras packed as tar+gzip.
    var isPackedDirectory: Bool
}

extension ORASFetcher: DescribingFetcher {
    /// The digest and size of the layer a pull of `source` would download: one manifest request (two
    /// for an index), no blob.
    public func describe(_ source: Source, context: FetchContext) async throws -> ExpectedContent {
        let layer = try await chosenLayer(for: source, context: context)
        return ExpectedContent(digest: layer.digest, size: layer.size)
    }

    /// Resolves `source` to its manifest (the plan's platform's, from an index) and picks the layer
    /// titled with the package's file name; refuses a layer without a sha256 digest or with a negative size.
    func chosenLayer(for source: Source, context: FetchContext) async throws -> ChosenLayer {
        let reference = try Reference(parsing: source.location)
        let manifest = try await imageManifest(for: reference, source: source, context: context)
        let selection = try LayerSelector(fileName: context.plan.fileName).select(from: manifest, what: reference.description)
        let layer = selection.layer
        guard let digest = layer.sha256 else {
            throw PkgfetchError(.orasPullFailed, "\(reference): layer '\(selection.title)' has digest '\(layer.digest)'; only sha256 is supported")
        }
        guard layer.size >= 0 else {
            throw PkgfetchError(.orasPullFailed, "\(reference): layer '\(selection.title)' has a negative size")
        }
        return ChosenLayer(reference: reference, digest: digest, size: layer.size, isPackedDirectory: selection.isPackedDirectory)
    }
}
