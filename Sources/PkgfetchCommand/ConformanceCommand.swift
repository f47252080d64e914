import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import PipelineTesting
import SourcesHelper

/// `pkgfetch conformance URL --sha256 HEX`: pkgfetch's conformance checks against whatever serves
/// URL's scheme (a backend compiled in, or a helper executable in any language), chosen by what it
/// declares: its descriptor, or a helper's `--pkgfetch-capabilities` reply. One line per check.
struct ConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Check the backend or helper that serves URL's scheme, with content of known digest.",
        discussion: """
            Checks, as declared: a whole read; a truthful size announcement (when it declares \
            announcements); resumes at two offsets (when it declares resume); a byte range (when it \
            declares ranges); the attempt's deadline \
            obeyed; nothing left running after it (no process of the attempt, a helper's children \
            included); what describe says (a backend that describes sources); a missing source failing \
            as not found, once. One line per check; exit 0 when all pass, 1 when one fails.
            """
    )

    @Argument(help: ArgumentHelp("A source holding the content (scheme://…).", valueName: "url"))
    var url: String

    @Option(name: .long, help: ArgumentHelp("SHA-256 of the content at URL.", valueName: "hex"))
    var sha256: String

    @Option(name: .long, help: ArgumentHelp("A URL of the same scheme that holds nothing (default: URL with -pkgfetch-missing appended).", valueName: "url"))
    var missing: String?

    @OptionGroup var options: PipelineOptions

    func validate() throws {
        guard SHA256Digest(sha256) != nil else { throw ValidationError("--sha256 takes 64 hex digits") }
        guard url.contains("://") else { throw ValidationError("'\(PrintableLine.escaping(url))' is not a URL (scheme://…)") }
    }

    func run() async throws {
        let scheme = String(url.prefix { $0 != ":" }).lowercased()
        let plugins = try options.plugins(for: [], events: EventEmitter())
        let fetcher = try plugins.fetcher(forScheme: scheme)
        let (capabilities, declaredBy) = await Self.declared(scheme: scheme, fetcher: fetcher, plugins: plugins)
        let named = [(capabilities.resumesWithValidator, "resume"), (capabilities.servesRanges, "ranges"), (capabilities.announcesSize, "announces size")]
            .filter(\.0).map(\.1)
        print("\(scheme): \(declaredBy) declares \(named.isEmpty ? "nothing" : named.joined(separator: ", "))")
        let outcomes = await SourceConformance.check(fetcher, source: Source(scheme: scheme, location: url), digest: SHA256Digest(sha256)!,
                                                     missing: Source(scheme: scheme, location: missing ?? url + "-pkgfetch-missing"),
                                                     capabilities: capabilities)
        for outcome in outcomes {
            print(outcome.failure.map { "FAIL  \(outcome.check): \(PrintableLine.escaping($0))" } ?? "ok    \(outcome.check)")
        }
        if outcomes.contains(where: { $0.failure != nil }) { throw ExitCode(1) }
    }

    /// What serves `scheme` declares: a backend's descriptor, else a helper's reply, else nothing.
    static func declared(scheme: String, fetcher: any Fetcher, plugins: PluginRegistry) async -> (FetcherCapabilities, String) {
        if let descriptor = plugins.descriptor(forScheme: scheme) { return (descriptor.capabilities, "backend \(descriptor.name)") }
        guard let helper = fetcher as? HelperFetcher else { return (.none, String(describing: type(of: fetcher))) }
        let name = helper.executable.lastPathComponent
        guard let reply = await helper.capabilities() else { return (.none, "helper \(name) (no \(HelperCapabilities.flag) reply)") }
        return (reply.capabilities, "helper \(name) (protocol \(reply.protocol.map(String.init) ?? "?"))")
    }
}
