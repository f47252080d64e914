import ArgumentParser
import Foundation
import Logging
import Pipeline
import SourcesHTTP

/// `pkgfetch fetch URL (--dest DIR | --output FILE)`: the whole job.
struct FetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Fetch a package by its CDN URL, verify it, and install it.",
        discussion: "Exactly one of --dest (unpack into a directory) or --output (save the file) is required."
    )

    enum Progress: String, ExpressibleByArgument, CaseIterable {
        case auto, terminal, plain, none
    }

    @Argument(help: "The package's CDN URL.")
    var url: String

    @Option(name: .long, help: ArgumentHelp("Directory to unpack the package into (merged by default).", valueName: "dir"))
    var dest: String?

    @Option(name: .long, help: ArgumentHelp("File to save the package to, without unpacking.", valueName: "file"))
    var output: String?

    @Flag(help: "With --dest: --merge renames each file over its old version and keeps the others (default); --replace swaps the whole directory.")
    var mode: InstallMode = .merge

    @Flag(name: .long, help: "With --dest: place the file in the directory under its own name instead of unpacking it.")
    var noUnpack = false

    @Flag(name: .long, help: "Force the file to disk (fsync) before it is installed, for a run followed by a power cut or a hard reset; slower where the disk is slower than the network.")
    var fsync = false

    @OptionGroup(title: "Resolution")
    var resolution: ResolutionOptions

    @OptionGroup(title: "Transport and credentials")
    var transport: TransportOptions

    @OptionGroup(title: "Azure managed identity (private Azure Container Registry)")
    var identity: IdentityOptions

    @Option(name: .long, help: "Retries per source after the first try.")
    var retries = 5

    @Option(name: .long, help: ArgumentHelp("First backoff delay (doubles each retry, with jitter): 500ms, 10s, 2m.", valueName: "duration"))
    var retryDelay = DurationArgument(.seconds(10))

    @Option(name: .long, help: ArgumentHelp("Timeout of each attempt.", valueName: "duration"))
    var timeout = DurationArgument(.seconds(300))

    @Option(name: .long, help: ArgumentHelp("Deadline for the whole run, retries included.", valueName: "duration"))
    var deadline: DurationArgument?

    @OptionGroup(title: "Unpack limits")
    var limits: UnpackLimitOptions

    @Option(name: .long, help: ArgumentHelp("Append one JSON object per step to this file.", valueName: "file"))
    var events: String?

    @Option(name: .long, help: "Progress display on stderr: auto (terminal only), terminal, plain (a line every few seconds), none.")
    var progress: Progress = .auto

    @Flag(name: .long, help: "Print the result as one JSON object on stdout.")
    var json = false

    @Flag(name: [.short, .long], help: "Print errors only.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Log each step on stderr.")
    var verbose = false

    func validate() throws {
        switch (dest, output) {
        case (nil, nil): throw ValidationError("give --dest DIR (unpack) or --output FILE (save the file)")
        case (.some, .some): throw ValidationError("--dest and --output cannot be used together")
        default: break
        }
        if output != nil, noUnpack { throw ValidationError("--no-unpack goes with --dest; --output never unpacks") }
        if retries < 0 { throw ValidationError("--retries must be 0 or more") }
        if timeout.duration <= .zero { throw ValidationError("--timeout must be more than zero") }
        if quiet, verbose { throw ValidationError("--quiet and --verbose cannot be used together") }
        if identity.identityClientId != nil, transport.username != nil || transport.registryConfig != nil {
            throw ValidationError("--identity-client-id cannot be used with --username or --registry-config: give one source of registry credentials")
        }
    }

    func run() async throws {
        let started = ContinuousClock.now
        let target: InstallTarget = if let output { .file(path: output) } else {
            .directory(path: dest!, mode: mode, unpack: !noUnpack)
        }
        let emitter = EventEmitter(sink: try events.map(JSONLinesEventSink.init(path:)) ?? DiscardingEventSink())
        do {
            let request = try resolution.request(url: url, target: target)
            let curl = transport.transport()
            let registry = request.bootstrapRegistry
            let schemes = transport.schemePolicy(for: registry)
            var runner = PipelineRunner(
                plugins: BuiltIns.plugins(resolver: try resolution.resolver(), transport: curl,
                                          stallTimeout: transport.stallTimeout.duration,
                                          registryCredentials: try transport.registryCredentials(for: registry, identity: identity,
                                                                                                 transport: curl, schemes: schemes),
                                          registrySchemes: schemes),
                retry: RetryPolicy(attempts: retries + 1, initialDelay: retryDelay.duration,
                                   perAttemptTimeout: timeout.duration, deadline: deadline?.duration),
                events: emitter, progress: progressReporter(), unpackLimits: limits.limits)
            runner.logger = Self.logger(quiet: quiet, verbose: verbose)
            runner.durableInstall = fsync
            let result = try await runner.run(request)
            ResultReport.success(result, json: json, quiet: quiet)
        } catch {
            let failure = PkgfetchError.from(error)
            emitter.emit(task: "fetch-package", since: started, outcome: "failed", error: failure)
            if json { ResultReport.failure(failure) }
            throw failure
        }
    }

    private func progressReporter() -> any ProgressReporter {
        if quiet || json { return SilentProgress() }
        switch progress {
        case .none: return SilentProgress()
        case .plain: return StderrProgress(style: .plain)
        case .terminal: return StderrProgress(style: .terminal)
        case .auto: return isatty(STDERR_FILENO) == 1 ? StderrProgress(style: .terminal) : SilentProgress()
        }
    }

    static func logger(quiet: Bool, verbose: Bool) -> Logger {
        var logger = Logger(label: "pkgfetch") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = quiet ? .error : verbose ? .debug : .warning
        return logger
    }
}

extension InstallMode: EnumerableFlag {}

/// `--max-unpacked-size`, `--max-entries`, `--max-compression-ratio`.
struct UnpackLimitOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Largest total size an archive may unpack to, in bytes (suffixes K, M, G).", valueName: "size"))
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

/// A byte count flag value: `4096`, `512K`, `200M`, `4G`.
struct ByteCountArgument: ExpressibleByArgument, Sendable {
    let bytes: Int64
    init(_ bytes: Int64) { self.bytes = bytes }
    init?(argument: String) {
        let text = argument.uppercased().replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "")
        let scales: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        if let last = text.last, let scale = scales[last], let value = Int64(text.dropLast()), value >= 0 {
            bytes = value * scale
        } else if let value = Int64(text), value >= 0 {
            bytes = value
        } else {
            return nil
        }
    }
    var defaultValueDescription: String { "\(bytes)" }
}
