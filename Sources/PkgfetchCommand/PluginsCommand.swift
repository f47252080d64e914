import ArgumentParser
import Pipeline
import SourcesHTTP

/// `pkgfetch plugins`: what the composition root registered.
struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plugins", abstract: "List registered resolvers, fetcher schemes, helper executables and unpacker formats.")

    @OptionGroup var helpers: HelperOptions

    func run() throws {
        let backends = try PipelineOptions.parse([]).backends
        let plugins = try BuiltIns.plugins(backends: backends, shared: SharedTransport(),
                                           resolution: try ResolutionOptions.parse([]), helpers: helpers, relay: { _ in })
        let described = plugins.describe()
        // A helper for a scheme a backend fetches is never run, so it is not listed.
        let found = helpers.catalog.all().filter { !plugins.fetcherSchemes.contains($0.scheme) }
        for (title, rows) in [("resolvers", described.resolvers), ("fetchers (by scheme)", described.fetchers),
                              ("helpers (by scheme; --helpers-dir, then PATH)", found.map { ($0.scheme, $0.path) }),
                              ("unpackers (by format)", described.unpackers)] {
            print("\(title):")
            for (key, type) in rows { print("  \(key.padded(toLength: 10)) \(type)") }
        }
        // What each backend declares beyond its schemes: its options, flags of the commands that fetch.
        let options = backends.flatMap { backend in backend.descriptor.options.map { (backend.descriptor.name, $0) } }
        if !options.isEmpty {
            print("backend options (--NAME VALUE, or --backend-option NAME=VALUE):")
            for (backend, option) in options {
                let fallback = [option.environment.map { "$\($0)" }, option.defaultValue.map { "default \($0)" }].compactMap { $0 }
                print("  --\(option.name) (\(backend)): \(option.help)\(fallback.isEmpty ? "" : " [\(fallback.joined(separator: ", "))]")")
            }
        }
    }
}
