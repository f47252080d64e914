import ArgumentParser
import Foundation
import Pipeline

/// `pkgfetch resolve URL`: the plan, without fetching.
struct ResolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve", abstract: "Print the plan for a URL (package, version, reference, sources in order) without fetching.")

    @Argument(help: "The package's CDN URL.")
    var url: String

    @Option(name: .long, help: ArgumentHelp("Expected SHA-256 of the package file (hex or sha256:hex).", valueName: "hex"))
    var sha256: SHA256Digest?

    @OptionGroup var resolution: ResolutionOptions

    @Flag(name: .long, help: "Print the plan as one JSON object.")
    var json = false

    func run() throws {
        var plugins = PluginRegistry()
        plugins.register(resolver: try resolution.resolver(), named: "cdn")
        let runner = PipelineRunner(plugins: plugins)
        let plan = try runner.plan(for: try resolution.request(url: url, target: .file(path: "."), sha256: sha256))
        if json {
            var object: [String: Any] = [
                "rule": plan.rule, "package": plan.package, "fileName": plan.fileName,
                "sources": plan.sources.map { ["scheme": $0.scheme, "location": $0.redacted] },
            ]
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
        print("file:      \(plan.fileName)")
        if let format = plan.format { print("format:    \(format)") }
        if let platform = plan.platform { print("platform:  \(platform)") }
        if let reference = plan.reference { print("reference: \(reference)") }
        print("sources:")
        for (index, source) in plan.sources.enumerated() { print("  \(index + 1). \(source)") }
    }
}
