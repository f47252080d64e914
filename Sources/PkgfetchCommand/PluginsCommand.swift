import ArgumentParser
import Pipeline
import SourcesHTTP

/// `pkgfetch plugins`: what the composition root registered.
struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plugins", abstract: "List registered resolvers, fetcher schemes and unpacker formats.")

    func run() throws {
        let shared = SharedTransport(transport: CurlTransport(), stallTimeout: .seconds(30), registry: nil, events: EventEmitter())
        let plugins = try BuiltIns.plugins(backends: Backends.all(in: try PipelineOptions.parse([])), shared: shared,
                                           resolution: try ResolutionOptions.parse([]))
        let described = plugins.describe()
        for (title, rows) in [("resolvers", described.resolvers), ("fetchers (by scheme)", described.fetchers),
                              ("unpackers (by format)", described.unpackers)] {
            print("\(title):")
            for (key, type) in rows { print("  \(key.padding(toLength: 10, withPad: " ", startingAt: 0)) \(type)") }
        }
    }
}
