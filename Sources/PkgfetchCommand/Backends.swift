import ArgumentParser
import Pipeline

/// The command's backends: the built-in ones (`PipelineOptions.backends`), then the program's extra ones.
enum Backends {
    /// Backends compiled into this program besides the built-in ones, for the command
    /// `PkgfetchMain.main(extraBackends:)` runs.
    @TaskLocal static var extra: [any Backend] = []

    /// Registers each backend's fetcher for its schemes, with its descriptor.
    static func register(_ backends: [any Backend], into plugins: inout PluginRegistry, shared: SharedTransport) throws {
        for backend in backends {
            plugins.register(backend.descriptor, fetcher: try backend.makeFetcher(shared))
        }
    }

    /// `--backend-option NAME=VALUE` values, each the name of an option one of `backends` declares.
    static func optionValues(_ given: [String], declaredBy backends: [any Backend]) throws -> BackendOptionValues {
        let declared = Set(backends.flatMap { $0.descriptor.options.map(\.name) })
        var values: [String: String] = [:]
        for pair in given {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, declared.contains(parts[0]) else {
                throw ValidationError("--backend-option takes NAME=VALUE, NAME one of: \(declared.isEmpty ? "(none declared)" : declared.sorted().joined(separator: ", "))")
            }
            values[parts[0]] = parts[1]
        }
        return BackendOptionValues(given: values)
    }
}
