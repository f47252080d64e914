import Pipeline
import SourcesHTTP
import SourcesORAS
import Unpackers

/// The composition root: the one place that says which implementations pkgfetch has.
enum BuiltIns {
    static func plugins(resolver: CDNURLResolver, transport: CurlTransport, stallTimeout: Duration,
                        registryCredentials: any CredentialStore = AnonymousCredentialStore(),
                        registrySchemes: RegistrySchemePolicy = RegistrySchemePolicy()) -> PluginRegistry {
        var plugins = PluginRegistry()
        plugins.register(resolver: resolver, named: "cdn")
        plugins.register(fetcher: FileFetcher(), forSchemes: "file")
        plugins.register(fetcher: HTTPFetcher(transport: transport, stallTimeout: stallTimeout), forSchemes: "http", "https")
        plugins.register(fetcher: ORASFetcher(transport: transport, credentials: registryCredentials, schemes: registrySchemes,
                                              stallTimeout: stallTimeout), forSchemes: "oci")
        plugins.register(unpacker: LibarchiveUnpacker(), for: LibarchiveUnpacker.formats)
        return plugins
    }
}
