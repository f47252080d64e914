import AKS
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Pipeline
import SourcesHTTP

/// The options of every command that runs the pipeline (`fetch`, `batch`): where packages come from,
/// how hard to try, what to allow in an archive, and what to report.
struct PipelineOptions: ParsableArguments {
    @OptionGroup(title: "Resolution")
    var resolution: ResolutionOptions

    @OptionGroup(title: "Transport")
    var transport: TransportOptions

    // The built-in backends with flags of their own (the groups sit in `PipelineOptions` itself, not in a
    // group of their own: every level of nested option groups multiplies ArgumentParser's validation work).
    @OptionGroup(title: "Bootstrap registry (oci)") var registry: RegistryBackend
    @OptionGroup(title: "Helper executables (any other scheme)") var helpers: HelperOptions

    @Option(name: .customLong("backend-option"), help: ArgumentHelp("An option a backend declares, NAME=VALUE: the generic spelling of its own flag --NAME VALUE (repeatable; `pkgfetch plugins` lists them, each with its environment variable).", valueName: "name=value"))
    var backendOptions: [String] = []

    /// The command's backends, registered from their descriptors: one line each, then the program's extra ones.
    var backends: [any Backend] { Self.backends(registry: registry) }

    /// The same, with `registry`'s flags as given (unparsed: their defaults; a descriptor reads none of them).
    static func backends(registry: RegistryBackend = RegistryBackend()) -> [any Backend] {
        [FileBackend(), HTTPBackend(), registry] + Backends.extra
    }

    @Option(name: .long, help: "Retries per source after the first try.")
    var retries = 5

    @Option(name: .long, help: ArgumentHelp("First backoff delay (doubles each retry, with jitter).", valueName: "duration"))
    var retryDelay = DurationArgument(.seconds(10))

    @Option(name: .long, help: ArgumentHelp("Timeout of each attempt (a duration: 300s, 1m30s, 1.5m, 250ms, 2h).", valueName: "duration"))
    var timeout = DurationArgument(.seconds(300))

    @Option(name: .long, help: ArgumentHelp("Deadline for the whole run, retries included.", valueName: "duration"))
    var deadline: DurationArgument?

    @Option(name: .long, help: ArgumentHelp("Largest file a source may deliver (a size: 4G, 1.5G, 512M, 4GiB, bytes); larger is refused (exit 50) before it fills the disk.", valueName: "size"))
    var maxSize = ByteCountArgument(4 << 30)

    @Flag(name: .long, help: "Force the file or unpacked tree to disk before it is installed, and the install after, for a run followed by a power cut or a hard reset.")
    var fsync = false

    @OptionGroup(title: "Unpack limits")
    var limits: UnpackLimitOptions

    @Option(name: .long, help: ArgumentHelp("Append one JSON object per step to this file.", valueName: "file"), completion: .file())
    var events: String?

    @Option(name: .long, help: ArgumentHelp("Also write each step as one JSON file into this directory, for the Azure guest agent (as the node scripts do: /var/log/azure/Microsoft.Azure.Extensions.CustomScript/events). Never fails the fetch.", valueName: "dir"), completion: .directory)
    var agentEventsDir: String?

    @Flag(name: .long, help: "Print the result as JSON on stdout.")
    var json = false

    @Flag(name: [.short, .long], help: "Print errors only.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Log each step on stderr.")
    var verbose = false

    func validate() throws {
        if retries < 0 { throw ValidationError("--retries must be 0 or more") }
        if timeout.duration <= .zero { throw ValidationError("--timeout must be more than zero") }
        if maxSize.bytes < 1 { throw ValidationError("--max-size must be at least 1 byte") }
        if quiet, verbose { throw ValidationError("--quiet and --verbose cannot be used together") }
        _ = try Backends.optionValues(backendOptions, declaredBy: backends)
    }

    func eventEmitter() throws -> EventEmitter {
        var sinks: [any EventSink] = []
        if let events { sinks.append(try JSONLinesEventSink(path: events)) }
        if let agentEventsDir {
            let logger = logger
            sinks.append(GuestAgentEventSink(directory: agentEventsDir) { problem in logger.warning("\(problem)") })
        }
        return EventEmitter(sink: sinks.count == 1 ? sinks[0] : EventSinks(sinks))
    }

    /// One runner for every package of the run (`requests`): one connection pool, one set of registry
    /// credentials and tokens.
    func runner(for requests: [PackageRequest], events: EventEmitter, progress: any ProgressReporter = SilentProgress()) throws -> PipelineRunner {
        var runner = PipelineRunner(
            plugins: try plugins(for: requests, events: events),
            retry: RetryPolicy(attempts: retries + 1, initialDelay: retryDelay.duration,
                               perAttemptTimeout: timeout.duration, deadline: deadline?.duration),
            events: events, progress: progress, unpackLimits: limits.limits)
        runner.logger = logger
        runner.interruption = SignalHandlers.interruption
        runner.durableInstall = fsync
        runner.maxFileSize = maxSize.bytes
        runner.connections = ConnectionBudget(total: transport.connections)
        // fetch, batch and components alike: a line per retry on stderr, unless --quiet.
        if !quiet { runner.onRetry = RetryLine.print }
        return runner
    }

    /// What fetches the run's packages: the backends, helpers, the resolver and the unpackers.
    func plugins(for requests: [PackageRequest], events: EventEmitter) throws -> PluginRegistry {
        let shared = SharedTransport(transport: transport.transport(quiet: quiet), stallTimeout: transport.stallTimeout.duration,
                                     registry: try resolution.registry(), referencedRegistries: resolution.referencedRegistries(requests),
                                     events: events, options: try Backends.optionValues(backendOptions, declaredBy: backends))
        // A helper's stderr lines go to ours, unless --quiet.
        let quiet = quiet
        let relay: @Sendable (String) -> Void = { line in if !quiet { ErrorReport.printRaw(line) } }
        return try BuiltIns.plugins(backends: backends, shared: shared, resolution: resolution, helpers: helpers, relay: relay)
    }

    var logger: Logger {
        var logger = Logger(label: "pkgfetch") { _ in StderrLogHandler() }
        logger.logLevel = quiet ? .error : verbose ? .debug : .warning
        return logger
    }
}
