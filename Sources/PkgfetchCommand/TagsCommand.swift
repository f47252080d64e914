import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesORAS

/// `pkgfetch tags REFERENCE [--match REGEX] [--latest] [--json]`: a repository's tags in version order,
/// what the node scripts do with `oras repo tags REF | grep -E REGEX | sort -V | tail -1`.
struct TagsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tags",
        abstract: "List a repository's tags, sorted as versions (as `sort -V` sorts them).",
        discussion: """
            Every page of the registry's tag list is read (its Link headers). The list is asked of the \
            registry's hosts that may resolve tags (hosts.toml): a pull-only mirror is not asked. With \
            --bootstrap-registry, a repository on mcr.microsoft.com is listed there, as `fetch` pulls it.
            """
    )

    @Argument(help: ArgumentHelp("The repository: [oci://]registry/repository (a tag or digest after it is ignored).", valueName: "reference"))
    var reference: String

    @Option(name: .long, help: ArgumentHelp("Only tags this regular expression matches somewhere (as grep -E does).", valueName: "regex"))
    var match: String?

    @Flag(name: .long, help: "Print only the highest tag in version order (exit 32 when none matches).")
    var latest = false

    @Flag(name: .long, help: "Print the tags as one JSON object.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Tags asked for per page (the registry's n=).", valueName: "n"))
    var pageSize = 1000

    @Option(name: .long, help: ArgumentHelp("Bootstrap container registry (host[:port][/prefix]): a repository on mcr.microsoft.com is listed there.", valueName: "registry"))
    var bootstrapRegistry: String?

    @Option(name: .long, help: ArgumentHelp("Time allowed for listing every page.", valueName: "duration"))
    var timeout = DurationArgument(.seconds(300))

    @OptionGroup(title: "Transport") var transport: TransportOptions
    @OptionGroup(title: "Registry") var registry: RegistryBackend

    func validate() throws {
        if let match {
            do { _ = try Regex(match) } catch { throw ValidationError("--match '\(match)' is not a regular expression: \(error)") }
        }
        if !(1...10_000).contains(pageSize) { throw ValidationError("--page-size must be between 1 and 10000") }
        if timeout.duration <= .zero { throw ValidationError("--timeout must be more than zero") }
    }

    func run() async throws {
        let bootstrap = try bootstrapRegistry.map(RegistryAddress.init(parsing:))
        let repository = ReferenceResolver.pulledReference(try Reference(typed: reference, requiringTag: false), bootstrapRegistry: bootstrap)
        let events = EventEmitter()
        let shared = SharedTransport(transport: transport.transport(quiet: false), stallTimeout: transport.stallTimeout.duration, registry: bootstrap,
                                     referencedRegistries: repository.registry == bootstrap?.host ? [] : [repository.registry], events: events)
        guard let fetcher = try registry.makeFetcher(shared) as? ORASFetcher else {
            throw PkgfetchError(.internal, "the registry backend is not the ORAS fetcher")
        }
        var tags = try await fetcher.client.tags(repository, pageSize: pageSize, deadline: .now + timeout.duration, events: events)
        if let match {
            let pattern = try Regex(match)
            tags = tags.filter { $0.firstMatch(of: pattern) != nil }
        }
        tags.sort(by: VersionOrder.precedes)
        let name = "\(repository.registry)/\(repository.repository)"
        if latest {
            guard let highest = tags.last else {
                throw PkgfetchError(.artifactNotFound, "no tag of \(name)\(match.map { " matches '\($0)'" } ?? " exists")")
            }
            tags = [highest]
        }
        if json {
            ResultReport.printJSON(["repository": name, "tags": tags] as [String: Any])
        } else {
            for tag in tags { print(tag) }
        }
    }
}
