import ArgumentParser
import Pipeline

/// The command's backends, one option group each: adding a backend to the command is its file and
/// one line here. `all` finds them, in this order.
struct Backends: ParsableArguments {
    @OptionGroup var file: FileBackend
    @OptionGroup var http: HTTPBackend
    @OptionGroup(title: "Bootstrap registry (oci)") var registry: RegistryBackend
    @OptionGroup(title: "Example object store (objstore)") var objectStore: ObjectStoreBackend

    /// Every backend above, in the order declared.
    var all: [any Backend] {
        Mirror(reflecting: self).children.compactMap { ($0.value as? any BackendOptionGroup)?.backend }
    }

    /// A registry of the backends' fetchers, keyed by scheme.
    func register(into plugins: inout PluginRegistry, shared: SharedTransport) throws {
        for backend in all {
            let fetcher = try backend.makeFetcher(shared)
            for scheme in backend.schemes { plugins.register(fetcher: fetcher, forSchemes: scheme) }
        }
    }
}

/// An `@OptionGroup` holding a backend, found by `Backends.all`.
protocol BackendOptionGroup {
    var backend: any Backend { get }
}

extension OptionGroup: BackendOptionGroup where Value: Backend {
    var backend: any Backend { wrappedValue }
}
