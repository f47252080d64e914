import AKS
import ArgumentParser
import Pipeline
import SourcesORAS

/// What decides the plan: shared by `fetch`, `batch` and `resolve`.
struct ResolutionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Bootstrap container registry (host[:port][/prefix], with or without https://). When set, packages given by CDN URL, and references on mcr.microsoft.com, are pulled from it.", valueName: "registry"))
    var bootstrapRegistry: String?

    @Option(name: .customLong("cache-dir"), help: ArgumentHelp("Directory searched recursively for a pre-cached copy (repeatable); a hit is tried first.", valueName: "dir"), completion: .directory)
    var cacheDirectories: [String] = []

    @Option(name: .long, help: ArgumentHelp("Platform to pick from a multi-platform index: os/arch[/variant][:os.version]. Default: from the URL, else this machine.", valueName: "platform"))
    var platform: Platform?

    @Option(name: .long, help: ArgumentHelp("JSON file of URL rules, tried before the built-in ones.", valueName: "file"), completion: .file())
    var rules: String?

    @Flag(name: .long, help: "With a registry set, fall back to the CDN URL when the registry fails.")
    var fallbackToCDN = false

    func registry() throws -> RegistryAddress? {
        try bootstrapRegistry.map(RegistryAddress.init(parsing:))
    }

    /// The resolver of every command: an OCI reference (`oci://…` or bare) is planned as one `oci`
    /// source (`ReferenceResolver`), anything else by the CDN URL rules; a URL of any scheme other than
    /// http(s) and file is fetched as it is (by a backend, or a helper executable).
    func resolver(fetching schemes: Set<String> = []) throws -> any Resolver {
        ReferenceResolver(urls: try CDNURLResolver(extraRules: rules.map(CDNURLResolver.loadRules(from:)) ?? [], builtIns: BuiltInRules.all,
                                                   fetchedAsTheyAre: schemes, anyScheme: true))
    }

    /// The registries `requests` pull from by reference, other than the bootstrap registry.
    func referencedRegistries(_ requests: [PackageRequest]) -> Set<String> {
        Set(requests.compactMap { request in
            guard Reference.isTyped(request.url), let typed = try? Reference(typed: request.url) else { return nil }
            let pulled = ReferenceResolver.pulledReference(typed, bootstrapRegistry: request.bootstrapRegistry)
            return pulled.registry == request.bootstrapRegistry?.host ? nil : pulled.registry
        })
    }

    /// The request for one package, from what the user typed: a CDN URL, a URL of a backend's scheme, or
    /// an OCI reference (`oci://…` or bare). The one way from a typed string to a request: `fetch`,
    /// `batch` and `resolve` use it, and so should any command that takes packages (the resolver
    /// above plans what it returns); `platform` overrides `--platform`.
    func request(url: String, target: InstallTarget, sha256: SHA256Digest? = nil, platform: Platform? = nil) throws -> PackageRequest {
        PackageRequest(url: url, bootstrapRegistry: try registry(), cacheDirectories: cacheDirectories,
                       expectedDigest: sha256, platform: platform ?? self.platform, fallbackToCDN: fallbackToCDN, target: target)
    }
}
