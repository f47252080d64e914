import Pipeline
import Unpackers

/// The composition root: the one place that says which implementations the command has. Fetchers come
/// from the backends (`Backends`), and for any other scheme from a helper executable (`HelperOptions`);
/// the resolver from the resolution flags.
enum BuiltIns {
    static func plugins(backends: [any Backend], shared: SharedTransport, resolution: ResolutionOptions, helpers: HelperOptions,
                        relay: @escaping @Sendable (String) -> Void) throws -> PluginRegistry {
        var plugins = PluginRegistry()
        try Backends.register(backends, into: &plugins, shared: shared)
        helpers.register(into: &plugins, relay: relay)
        plugins.register(resolver: try resolution.resolver(fetching: Set(plugins.fetcherSchemes)), named: "cdn")
        plugins.register(unpacker: LibarchiveUnpacker(), for: LibarchiveUnpacker.formats)
        return plugins
    }
}
