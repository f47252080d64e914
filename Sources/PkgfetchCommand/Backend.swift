import ArgumentParser
import Pipeline
import SourcesHTTP

/// A way the command fetches packages: the schemes its fetcher handles and how to build its fetcher.
/// A built-in backend is also its own option group (its flags, shown under its own title in `--help`),
/// one file listed with one `@OptionGroup` line in `PipelineOptions`. A team's backend is a value given
/// to `PkgfetchMain.main(extraBackends:)`, configured in the team's own `main.swift`.
public protocol Backend {
    /// The source schemes its fetcher handles (`https`, `oci`, `s3`, …).
    var schemes: [String] { get }
    /// Builds the fetcher for one run of the command, from its configuration and what every backend shares.
    func makeFetcher(_ shared: SharedTransport) throws -> any Fetcher
}

/// What backends share: one libcurl transport (one connection pool, one TLS setup), and the run's
/// bootstrap registry and events.
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
}

/// A backend of the command itself: its flags are an option group of `PipelineOptions`.
typealias BuiltInBackend = Backend & ParsableArguments
