import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesORAS

/// `pkgfetch resolve URL|REFERENCE`: the plan, without fetching.
struct ResolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve", abstract: "Print the plan for a URL or an OCI reference (package, version, reference, sources in order) without fetching.")

    @Argument(help: ArgumentHelp("The package's CDN URL, or an OCI reference ([oci://]registry/repository:tag or @sha256:…).", valueName: "url-or-reference"))
    var url: String

    @Option(name: .long, help: ArgumentHelp("Expected SHA-256 of the package file (hex or sha256:hex).", valueName: "hex"))
    var sha256: SHA256Digest?

    @OptionGroup var resolution: ResolutionOptions

    @OptionGroup var hostsDirectory: HostsDirectoryOptions

    @Flag(name: .long, help: "Print the plan as one JSON object.")
    var json = false

    func run() throws {
        var plugins = PluginRegistry()
        plugins.register(resolver: try resolution.resolver(), named: "cdn")
        let runner = PipelineRunner(plugins: plugins)
        let plan = try runner.plan(for: try resolution.request(url: url, target: .file(path: "."), sha256: sha256))
        let hosts = try registryHosts(plan)
        if json {
            var object: [String: Any] = [
                "rule": plan.rule, "package": plan.package,
                "sources": plan.sources.map { source -> [String: Any] in
                    var entry: [String: Any] = ["scheme": source.scheme, "location": source.redacted]
                    if let list = hosts[source] {
                        entry["hosts"] = list.map { host -> [String: Any] in
                            ["url": "\(host.origin)\(host.path)", "pull": host.capabilities.contains(.pull),
                             "resolve": host.capabilities.contains(.resolve), "mirror": host.isMirror]
                        }
                    }
                    return entry
                },
            ]
            // A reference's file is named by the manifest's layer titles, read when it is fetched.
            if plan.fileNamedBySource { object["fileNamedBySource"] = true } else { object["fileName"] = plan.fileName }
            object["version"] = plan.version
            object["reference"] = plan.reference
            object["format"] = plan.format?.name
            object["platform"] = plan.platform?.description
            object["sha256"] = plan.expectedDigest?.hex
            ResultReport.printJSON(object)
            return
        }
        print("rule:      \(plan.rule)")
        print("package:   \(plan.package)")
        if let version = plan.version { print("version:   \(version)") }
        print("file:      \(plan.fileNamedBySource ? "(named by the layer titles of the manifest, read when fetched)" : plan.fileName)")
        if let format = plan.format { print("format:    \(format)") }
        if let platform = plan.platform { print("platform:  \(platform)") }
        if let reference = plan.reference { print("reference: \(reference)") }
        print("sources:")
        for (index, source) in plan.sources.enumerated() {
            print("  \(index + 1). \(source)")
            // The hosts a registry source is fetched from, in the order they are tried (hosts.toml).
            for (position, host) in (hosts[source] ?? []).enumerated() {
                print("     \(position == 0 ? "hosts:" : "      ") \(position + 1). \(host.summary)")
            }
        }
    }

    /// For each `oci` source, the hosts tried for it, in order.
    func registryHosts(_ plan: Plan) throws -> [Source: [RegistryHost]] {
        let address = try resolution.registry()
        let hosts = hostsDirectory.registryHosts(RegistryBackend.schemePolicy(for: address))
        var found: [Source: [RegistryHost]] = [:]
        for source in plan.sources where source.scheme == "oci" {
            found[source] = try hosts.load(try Reference(parsing: source.location).registry)
        }
        return found
    }
}
