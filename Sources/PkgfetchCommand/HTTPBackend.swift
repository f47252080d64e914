import ArgumentParser
import Pipeline
import SourcesHTTP

/// `http`/`https` sources: the CDN, over the shared transport. Its flags are the transport's.
struct HTTPBackend: BuiltInBackend {
    var schemes: [String] { ["http", "https"] }

    func makeFetcher(_ shared: SharedTransport) throws -> any Fetcher {
        HTTPFetcher(transport: shared.transport, stallTimeout: shared.stallTimeout)
    }
}
