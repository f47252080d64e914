import Pipeline
import SourcesHTTP

/// The composition root: the one place that says which implementations pkgfetch has.
enum BuiltIns {
    static func plugins(resolver: CDNURLResolver, transport: CurlTransport, stallTimeout: Duration) -> PluginRegistry {
        var plugins = PluginRegistry()
        plugins.register(resolver: resolver, named: "cdn")
        plugins.register(fetcher: FileFetcher(), forSchemes: "file")
        plugins.register(fetcher: HTTPFetcher(transport: transport, stallTimeout: stallTimeout), forSchemes: "http", "https")
        return plugins
    }
}
