import Pipeline
import SourcesHTTP

/// `http`/`https` sources: the CDN, over the shared transport. Its flags are the transport's.
struct HTTPBackend: Backend {
    var descriptor: BackendDescriptor {
        BackendDescriptor(name: "http", schemes: ["http", "https"], capabilities: .all, failures: HTTPFetcher.failures, sourceKind: .cdn)
    }

    func makeFetcher(_ shared: SharedTransport) throws -> any Fetcher {
        HTTPFetcher(transport: shared.transport, stallTimeout: shared.stallTimeout)
    }
}
