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
        let (manifest, _) = try await imageManifest(for: reference, source: source, context: context)
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

extension ORASFetcher: ListingFetcher {
    /// Every titled layer of the reference's manifest (the plan's platform's, from an index), as
    /// `oras pull -o DIR` writes them: each under its title, which must be one plain file name
    /// (`LayerSelector.checkSafe`), each from the manifest pinned by its digest so a tag moved meanwhile
    /// cannot mix two versions. Untitled layers are passed over, as oras does.
    public func list(_ source: Source, context: FetchContext) async throws -> SourceListing {
        let reference = try Reference(parsing: source.location)
        let (manifest, pinned) = try await imageManifest(for: reference, source: source, context: context)
        let titled = manifest.layers.filter { $0.title != nil }
        guard !titled.isEmpty else {
            throw PkgfetchError(.noMatchingContent,
                                "\(reference): no layer of the manifest has a title (\(Annotation.title)); \(manifest.layers.count) untitled layer(s)")
        }
        var seen: Set<String> = []
        let files = try titled.map { layer in
            let title = layer.title!
            try LayerSelector.checkSafe(title, what: reference.description)
            guard seen.insert(title).inserted else {
                throw PkgfetchError(.unsafeArchive, "\(reference): two layers are titled '\(title)'; refused")
            }
            guard let digest = layer.sha256, layer.size >= 0 else {
                throw PkgfetchError(.orasPullFailed, "\(reference): layer '\(title)' has digest '\(layer.digest)' and size \(layer.size); only sha256 and a size of 0 or more are supported")
            }
            let packed = layer.annotations?[Annotation.unpack]?.lowercased() == "true"
            return ListedFile(name: title, source: Source(scheme: source.scheme, location: pinned.description),
                              expected: ExpectedContent(digest: digest, size: layer.size), format: packed ? .tarGzip : nil)
        }
        return SourceListing(files: files, digest: pinned.digest!)
    }
}
