import ArgumentParser
import ComponentList
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// `pkgfetch components FILE --os NAME --release X.Y`: the packages AgentBaker's components.json
/// lists for one node, each saved into its download location, as one batch.
struct ComponentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "components",
        abstract: "Fetch every package a components.json lists for one OS and release, as one batch.",
        discussion: """
            Entries, versions and URL templates are chosen as the node scripts choose them (README \
            "pkgfetch components"); templates are expanded without a shell, and one that needs more than \
            ${version}, ${CPU_ARCH} and ${SYSTEMD_ARCH} is refused. Each file is saved as it is into its \
            package's downloadLocation (windowsDownloadLocation with --os windows), under --root if given. \
            With --recipes, a package the file names is installed as its recipe says instead (destination, \
            include, stripComponents, renameSuffix, rename; README "Recipes"). \
            Every package is tried; the exit code is the first failed package's, or 0.

            \(FlagGrammar.text)
            """
    )

    @Argument(help: ArgumentHelp("AgentBaker's components.json.", valueName: "file"), completion: .file())
    var file: String

    @Option(name: .long, help: "ubuntu, mariner, marinerkata, azurelinux, azurelinuxkata, flatcar (or acl), windows.")
    var os: String

    @Option(name: .long, help: ArgumentHelp("The OS release: 22.04, 3.0; for windows ws2022, ws2025, ….", valueName: "release"))
    var release: String

    @Option(name: .long, help: ArgumentHelp("Image variant (OSGUARD); default DEFAULT, as the scripts.", valueName: "variant"))
    var variant: String?

    @Option(name: .long, help: "CPU architecture: amd64 or arm64.")
    var arch: NodeTarget.Architecture = .amd64

    @Option(name: .customLong("k8s"), help: ArgumentHelp("Kubernetes major.minor: packages bound to Kubernetes versions take the highest of it, else their highest.", valueName: "X.Y"))
    var kubernetes: String?

    @Flag(name: .long, help: "Every listed version (previousLatestVersion too), as an image build caches them.")
    var allVersions = false

    @Option(name: .long, help: ArgumentHelp("Only this package (repeatable).", valueName: "name"))
    var only: [String] = []

    @Option(name: .long, help: ArgumentHelp("Exit with CODE (1-255) when package NAME is the first to fail (repeatable).", valueName: "name=code"))
    var exitCode: [PackageExitCode] = []

    @Option(name: .long, help: ArgumentHelp("Directory every download location is placed under (a mounted image root).", valueName: "dir"), completion: .directory)
    var root: String?

    @Option(name: .long, help: ArgumentHelp("JSON recipes: per package, the destination and shaping to install with instead of saving the file (README \"Recipes\").", valueName: "file"))
    var recipes: String?

    @Flag(name: .long, help: "Print the plan (files, skipped and refused packages) and fetch nothing.")
    var dryRun = false

    @Option(name: .long, help: "Files fetched at the same time.")
    var parallel = 4

    @OptionGroup
    var options: PipelineOptions

    func validate() throws {
        if parallel < 1 { throw ValidationError("--parallel must be at least 1") }
        if !NodeTarget.knownSystems.contains(os.lowercased()) {
            throw ValidationError("--os \(os) is not one of \(NodeTarget.knownSystems.joined(separator: ", "))")
        }
        if release.isEmpty { throw ValidationError("--release is empty") }
        if allVersions, kubernetes != nil { throw ValidationError("--all-versions and --k8s cannot be used together") }
        if os.lowercased() == "windows", root == nil {
            throw ValidationError("--os windows needs --root DIR (the mounted Windows volume the c:\\ locations are placed under)")
        }
        if let root, root.isEmpty { throw ValidationError("--root is empty") }
    }

    func run() async throws {
        let path = file
        let components = try await usage { try await BlockingIO.shared.run { try ComponentsFile.load(path: path) } }
        let names = Set(components.packages.map(\.name))
        if let unknown = exitCode.first(where: { !names.contains($0.name) }) {
            throw PkgfetchError(.usage, "--exit-code \(unknown.name): no package of that name in the components file")
        }
        let recipesPath = recipes
        let loadedRecipes = try await usage {
            try await BlockingIO.shared.run { try recipesPath.map { path throws(ComponentListError) in try Recipes.load(path: path) } ?? Recipes() }
        }
        if let unknown = loadedRecipes.byPackage.keys.sorted().first(where: { !names.contains($0) }) {
            throw PkgfetchError(.usage, "--recipes: recipe \"\(unknown)\" names no package of the components file")
        }
        let target = NodeTarget(os: os, release: release, variant: variant, arch: arch)
        let plan = try await usage {
            try ComponentPlan.select(components, for: target, options: .init(kubernetes: kubernetes, allVersions: allVersions, only: only))
        }
        let run = try await ComponentRun(plan: plan, target: target, root: root, platform: Platform(os: target.isWindows ? "windows" : "linux", architecture: arch.rawValue),
                                         resolution: options.resolution,
                                         exitCodes: Dictionary(exitCode.map { ($0.name, $0.code) }) { _, last in last },
                                         recipes: loadedRecipes)
        let report = ComponentReport(run: run, json: options.json, quiet: options.quiet)
        if dryRun {
            let outcomes = run.outcomes(of: nil)
            report.printAll(outcomes)
            try run.check(outcomes)
            return
        }
        let requests = run.requests.map(\.request)
        try BatchRunner.checkDestinations(requests)
        let events = try options.eventEmitter()
        report.printRefusals(events: events)
        var batch = BatchRunner(runner: try options.runner(for: requests, events: events), parallel: parallel)
        let progress = BatchProgress.onTerminal(count: requests.count, options: options)
        if let progress { batch.progress = { progress.reporter(for: $0) } }
        let results = await batch.run(requests) { index, result in
            if case .failure(let failure) = result { report.printFailure(failure, of: run.requests[index]) }
            progress?.ended(index)
        }
        progress?.finish()
        let outcomes = run.outcomes(of: results)
        report.printAll(outcomes)
        try run.check(outcomes)
    }

    /// A problem with the file or the flags is a usage error.
    private func usage<T>(_ work: () async throws -> T) async throws -> T {
        do { return try await work() } catch let error as ComponentListError { throw PkgfetchError(.usage, error.message) }
    }
}

extension NodeTarget.Architecture: ExpressibleByArgument {}
