import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHelper
import Synchronization

/// Helper executables: a source whose scheme no backend fetches is fetched by `pkgfetch-fetch-<scheme>`,
/// looked for in `--helpers-dir` and then on `PATH` (README "Adding a backend").
struct HelperOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Directory searched first for helper executables (pkgfetch-fetch-<scheme>), before PATH. Default: $PKGFETCH_HELPERS_DIR.", valueName: "dir"), completion: .directory)
    var helpersDir: String?

    @Option(name: .customLong("helper-env"), help: ArgumentHelp("Name of a variable of pkgfetch's environment to pass to helpers (repeatable); helpers get only LANG, LC_ALL, TMPDIR, TZ, the effective user's own HOME, a fixed PATH and the PKGFETCH_* protocol variables otherwise.", valueName: "name"))
    var helperEnvironment: [String] = []

    func validate() throws {
        for name in helperEnvironment {
            guard name.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_]*/) != nil else {
                throw ValidationError("--helper-env takes a variable name, not '\(PrintableLine.escaping(name))'")
            }
            // A helper's PATH is fixed (no relative entries), its HOME is the effective user's own, and the
            // protocol's variables are pkgfetch's to set.
            guard name != "PATH", name != "HOME", !name.hasPrefix("PKGFETCH_") else {
                throw ValidationError("--helper-env cannot pass \(name): pkgfetch sets it for helpers")
            }
        }
    }

    /// Where helpers are looked for.
    var catalog: HelperCatalog {
        let environment = ProcessInfo.processInfo.environment
        return HelperCatalog(helpersDirectory: helpersDir ?? environment["PKGFETCH_HELPERS_DIR"], searchPath: environment["PATH"])
    }

    /// Makes helpers the fetchers of every scheme no backend registered; `relay` gets their stderr lines.
    /// A scheme's helper is looked for once per run.
    func register(into plugins: inout PluginRegistry, relay: @escaping @Sendable (String) -> Void) {
        let catalog = catalog
        let passing = helperEnvironment
        let found = Mutex<[String: HelperFetcher?]>([:])
        plugins.register(fallback: { scheme in
            found.withLock { found in
                if let known = found[scheme] { return known }
                let fetcher = catalog.helper(forScheme: scheme).map { HelperFetcher(executable: $0, passing: passing, relay: relay) }
                found[scheme] = fetcher
                return fetcher
            }
        }, missing: catalog.missing)
    }
}
