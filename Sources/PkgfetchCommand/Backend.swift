import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP

/// A way the command fetches packages, built-in or a team's, registered the same way: its descriptor
/// (schemes, capabilities, options, failure codes, source kind; `BackendDescriptor`) and how to build
/// its fetcher. A built-in backend is one file and one line in `PipelineOptions.backends`; a team's is
/// one file and one line in its `main.swift`: `await PkgfetchMain.main(extraBackends: [MyBackend()])`.
/// Its declared options are flags of their own (`--NAME VALUE`, `BackendFlags`) or come from their
/// environment variable, and are read with `shared.options.value(of:)`.
public protocol Backend: Sendable {
    /// What the backend declares about itself.
    var descriptor: BackendDescriptor { get }
    /// Builds the fetcher for one run of the command, from its configuration and what every backend shares.
    func makeFetcher(_ shared: SharedTransport) throws -> any Fetcher
}

/// What backends share: one libcurl transport (one connection pool, one TLS setup), the run's
/// bootstrap registry and events, and the values of the backends' declared options.
public struct SharedTransport {
    /// The libcurl transport, built from `--ca-file`, `--insecure`, `--connect-timeout`.
    public var transport: CurlTransport
    /// `--stall-timeout`.
    public var stallTimeout: Duration
    /// `--bootstrap-registry`, when given.
    public var registry: RegistryAddress?
    /// The registries the run's OCI references are pulled from directly (not through the bootstrap
    /// registry), `host[:port]`.
    public var referencedRegistries: Set<String> = []
    /// The run's events, for steps a fetcher records itself.
    public var events: EventEmitter
    /// The backends' declared options, as given.
    public var options: BackendOptionValues

    /// What a run shares; a registration's test builds one with defaults.
    public init(transport: CurlTransport = CurlTransport(), stallTimeout: Duration = .seconds(30), registry: RegistryAddress? = nil,
                referencedRegistries: Set<String> = [], events: EventEmitter = EventEmitter(), options: BackendOptionValues = BackendOptionValues()) {
        self.transport = transport
        self.stallTimeout = stallTimeout
        self.registry = registry
        self.referencedRegistries = referencedRegistries
        self.events = events
        self.options = options
    }
}

/// The values of declared backend options: `--NAME VALUE` or `--backend-option NAME=VALUE` (the last
/// one given), else the option's environment variable, else its default.
public struct BackendOptionValues: Sendable {
    private var given: [String: String]
    private var environment: [String: String]

    /// Values given as `NAME=VALUE`, and the environment to fall back on.
    public init(given: [String: String] = [:], environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.given = given
        self.environment = environment
    }

    /// The value of `option`.
    public func value(of option: BackendOption) -> String? {
        given[option.name] ?? option.environment.flatMap { environment[$0] } ?? option.defaultValue
    }
}

/// A backend of the command itself: its flags, if it has any of its own, are an option group of `PipelineOptions`.
typealias BuiltInBackend = Backend & ParsableArguments
