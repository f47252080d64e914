import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Pipeline
import SourcesHTTP

/// `pkgfetch fetch URL|REFERENCE (--dest DIR | --output FILE)`: the whole job.
struct FetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Fetch a package by its CDN URL or OCI reference, verify it, and install it.",
        discussion: """
            Exactly one of --dest (unpack into a directory) or --output (save the file) is required. A reference \
            ([oci://]registry/repository:tag, @sha256:…, or both) is pulled as `oras pull` does; an artifact of several \
            titled files needs --dest, which gets each file under its title. With --dest, --include, --strip-components, \
            --rename-suffix and --rename choose and rename what is installed (as tar's members and --strip-components); \
            a file that is not an archive is shaped as the one member of an archive holding it.

            \(FlagGrammar.text)
            """
    )

    enum Progress: String, ExpressibleByArgument, CaseIterable {
        case auto, terminal, plain, none
    }

    @Argument(help: ArgumentHelp("The package's CDN URL, or an OCI reference ([oci://]registry/repository:tag or @sha256:…).", valueName: "url-or-reference"))
    var url: String

    // First in --help: what every fetch names (ArgumentParser lists titled groups before OPTIONS).
    @OptionGroup(title: "Where to put it")
    var target: FetchTargetOptions

    var dest: String? { target.dest }
    var output: String? { target.output }
    var sha256: SHA256Digest? { target.sha256 }

    @Flag(help: "With --dest: --merge renames each file over its old version and keeps the others (default); --replace swaps the whole directory.")
    var mode: InstallMode = .merge

    @Flag(name: .long, help: "With --dest: place the file in the directory under its own name instead of unpacking it.")
    var noUnpack = false

    @Option(name: .long, help: "Progress display on stderr: auto (terminal only), terminal, plain (a line every few seconds), none.")
    var progress: Progress = .auto

    @OptionGroup(title: "Shaping (with --dest)")
    var shaping: ShapingOptions

    @OptionGroup
    var options: PipelineOptions

    func validate() throws {
        if dest != nil, output != nil { throw ValidationError("--dest and --output cannot be used together") }
        if output != nil, try !shaping.shaping().isNone {
            throw ValidationError("--include, --strip-components, --rename-suffix and --rename go with --dest; --output names the file itself")
        }
        if output != nil, noUnpack { throw ValidationError("--no-unpack goes with --dest; --output never unpacks") }
    }

    func run() async throws {
        // Checked here, not in validate(): ArgumentParser validates before it looks for unknown options,
        // so a mistyped `--dset x` was reported as a missing --dest instead of as the typo it is.
        if dest == nil, output == nil { throw ValidationError("give --dest DIR (unpack) or --output FILE (save the file)") }
        let started = ContinuousClock.now
        let target: InstallTarget = if let output { .file(path: output) } else {
            .directory(path: dest!, mode: mode, unpack: !noUnpack)
        }
        let emitter = try options.eventEmitter()
        do {
            var request = try options.resolution.request(url: url, target: target, sha256: sha256)
            request.shaping = try shaping.shaping()
            let runner = try options.runner(for: [request], events: emitter, progress: progressReporter())
            let result = try await runner.run(request)
            ResultReport.success(result, json: options.json, quiet: options.quiet)
        } catch {
            let failure = PkgfetchError.from(error)
            emitter.emit(task: "fetch-package", since: started, outcome: "failed", error: failure)
            if options.json { ResultReport.failure(failure) }
            throw failure
        }
    }

    private func progressReporter() -> any ProgressReporter {
        if options.quiet || options.json { return SilentProgress() }
        switch progress {
        case .none: return SilentProgress()
        case .plain: return StderrProgress(display: ProgressDisplay(style: .plain))
        case .terminal: return StderrProgress(display: ProgressDisplay(style: .terminal))
        case .auto: return isatty(STDERR_FILENO) == 1 ? StderrProgress(display: ProgressDisplay(style: .terminal)) : SilentProgress()
        }
    }
}

extension InstallMode: EnumerableFlag {}

/// `--dest`, `--output` and `--sha256`: where the package goes, and what it must be.
struct FetchTargetOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Directory to unpack the package into (merged by default).", valueName: "dir"), completion: .directory)
    var dest: String?

    @Option(name: [.short, .long], help: ArgumentHelp("File to save the package to, without unpacking (-o as curl and oras spell it).", valueName: "file"), completion: .file())
    var output: String?

    @Option(name: .long, help: ArgumentHelp("Expected SHA-256 of the package file (hex or sha256:hex).", valueName: "hex"))
    var sha256: SHA256Digest?
}

/// `--max-unpacked-size`, `--max-entries`, `--max-compression-ratio`.
struct UnpackLimitOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Largest total size an archive may unpack to (a size: 4G, 1.5G, 512M, 4GiB, bytes).", valueName: "size"))
    var maxUnpackedSize: ByteCountArgument = ByteCountArgument(UnpackLimits().maxTotalBytes)

    @Option(name: .long, help: "Most entries an archive may hold.")
    var maxEntries: Int = UnpackLimits().maxEntries

    @Option(name: .long, help: "Largest unpacked-to-packed size ratio (zip bombs).")
    var maxCompressionRatio: Double = UnpackLimits().maxCompressionRatio

    var limits: UnpackLimits {
        UnpackLimits(maxTotalBytes: maxUnpackedSize.bytes, maxEntries: maxEntries, maxCompressionRatio: maxCompressionRatio)
    }

    func validate() throws {
        if maxEntries < 1 { throw ValidationError("--max-entries must be at least 1") }
        if maxCompressionRatio < 1 { throw ValidationError("--max-compression-ratio must be at least 1") }
    }
}
