import Pipeline
import Unpackers

/// The composition root: the one place that says which implementations the command has. Fetchers come
/// from the backends (`Backends`), the resolver from the resolution flags.
enum BuiltIns {
    static func plugins(backends: [any Backend], shared: SharedTransport, resolution: ResolutionOptions) throws -> PluginRegistry {
        var plugins = PluginRegistry()
        try Backends.register(backends, into: &plugins, shared: shared)
        plugins.register(resolver: try resolution.resolver(fetching: Set(plugins.fetcherSchemes)), named: "cdn")
        plugins.register(unpacker: LibarchiveUnpacker(), for: LibarchiveUnpacker.formats)
        return plugins
    }
}
