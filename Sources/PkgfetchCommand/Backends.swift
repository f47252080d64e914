import ArgumentParser
import Pipeline

/// The command's backends: every `@OptionGroup` of a backend in `PipelineOptions`, in the order
/// declared. Adding a backend to the command is its file and one `@OptionGroup` line there. (The groups
/// sit in `PipelineOptions` itself, not in a group of their own: every level of nested option groups
/// multiplies ArgumentParser's validation work at each start.)
enum Backends {
    /// The backends among `options`' option groups, then the program's extra ones (`PkgfetchMain.main(extraBackends:)`).
    static func all(in options: some ParsableArguments) -> [any Backend] {
        Mirror(reflecting: options).children.compactMap { ($0.value as? any BackendOptionGroup)?.backend } + extra
    }

    /// Backends compiled into this program besides the built-in ones; set once, before the command is parsed.
    nonisolated(unsafe) static var extra: [any Backend] = []

    /// Registers each backend's fetcher for its schemes.
    static func register(_ backends: [any Backend], into plugins: inout PluginRegistry, shared: SharedTransport) throws {
        for backend in backends {
            let fetcher = try backend.makeFetcher(shared)
            for scheme in backend.schemes { plugins.register(fetcher: fetcher, forSchemes: scheme) }
        }
    }
}

/// An `@OptionGroup` holding a backend, found by `Backends.all`.
protocol BackendOptionGroup {
    var backend: any Backend { get }
}

extension OptionGroup: BackendOptionGroup where Value: Backend & ParsableArguments {
    var backend: any Backend { wrappedValue }
}
