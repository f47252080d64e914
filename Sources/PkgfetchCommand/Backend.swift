import ArgumentParser
import Pipeline
import SourcesHTTP

/// A way the command fetches packages: the schemes its fetcher handles, its own flags (the type is its
/// option group, shown under its own title in `--help`), and how to build its fetcher. A backend is one
/// file; `Backends` lists it with one line.
protocol Backend: ParsableArguments {
    /// The source schemes its fetcher handles (`https`, `oci`, …).
    var schemes: [String] { get }
    /// Builds the fetcher for one run of the command, from its flags and what every backend shares.
    func makeFetcher(_ shared: SharedTransport) throws -> any Fetcher
}

/// What backends share: one libcurl transport (one connection pool, one TLS setup), and the run's
/// bootstrap registry and events.
struct SharedTransport {
    /// The libcurl transport, built from `--ca-file`, `--insecure`, `--connect-timeout`.
    var transport: CurlTransport
    /// `--stall-timeout`.
    var stallTimeout: Duration
    /// `--bootstrap-registry`, when given.
    var registry: RegistryAddress?
    /// The run's events.
    var events: EventEmitter
}
