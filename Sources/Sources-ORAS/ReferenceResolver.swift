import Pipeline

/// Plans a request that names an OCI reference (`oci://…` or bare, read as `Reference.init(typed:)`
/// reads it) as one `oci` source; hands every other request (a URL) to `urls`. The reference names a
/// repository, not a file, so the plan leaves the file to the source (`Plan.fileNamedBySource`): the
/// runner lists the manifest's titled layers before fetching.
///
/// With a bootstrap registry, a reference on a registry it mirrors (`mcr.microsoft.com`: AKS caches
/// MCR in the cluster's registry under the same path) is pulled from the bootstrap registry, under its
/// path prefix if it has one; a reference on any other registry is pulled from where it names.
public struct ReferenceResolver: Resolver {
    /// Plans what is not a reference.
    public let urls: any Resolver
    /// Registries whose repositories a bootstrap registry holds under the same path.
    public let mirroredByBootstrapRegistry: Set<String>

    /// The registries a bootstrap registry mirrors unless told otherwise: MCR, as AKS caches it.
    public static let defaultMirrored: Set<String> = ["mcr.microsoft.com"]

    /// A resolver of references that hands anything else to `urls`.
    public init(urls: any Resolver, mirroredByBootstrapRegistry: Set<String> = ReferenceResolver.defaultMirrored) {
        self.urls = urls
        self.mirroredByBootstrapRegistry = mirroredByBootstrapRegistry
    }

    /// The plan for a reference (rule `reference`, one `oci` source), or what `urls` plans for anything else.
    public func resolve(_ request: PackageRequest) throws -> Plan {
        guard Reference.isTyped(request.url) else { return try urls.resolve(request) }
        let typed: Reference
        do {
            typed = try Reference(typed: request.url)
        } catch let failure as PkgfetchError where !request.url.contains("://") {
            throw PkgfetchError(.resolveFailed, "'\(PrintableLine.escaping(request.url))' is neither an http(s) URL (it has no https://) "
                                    + "nor an OCI reference (registry/repository:tag or @sha256:…): \(failure.message)")
        }
        let pulled = Self.pulledReference(typed, bootstrapRegistry: request.bootstrapRegistry, mirrored: mirroredByBootstrapRegistry)
        let name = String(pulled.repository.split(separator: "/").last ?? Substring(pulled.repository))
        var plan = Plan(rule: "reference", package: name, version: typed.tag ?? typed.digest?.description, fileName: name,
                        platform: request.platform, reference: pulled.description,
                        sources: [Source(scheme: Reference.scheme, location: pulled.description)])
        plan.fileNamedBySource = true
        return plan
    }

    /// Where `reference` is pulled from: the bootstrap registry for a registry it mirrors, else itself.
    public static func pulledReference(_ reference: Reference, bootstrapRegistry: RegistryAddress?,
                                       mirrored: Set<String> = defaultMirrored) -> Reference {
        guard let bootstrapRegistry, mirrored.contains(reference.registry) else { return reference }
        let repository = bootstrapRegistry.pathPrefix.isEmpty ? reference.repository : "\(bootstrapRegistry.pathPrefix)/\(reference.repository)"
        return Reference(registry: bootstrapRegistry.host, repository: repository, tag: reference.tag, digest: reference.digest)
    }
}
