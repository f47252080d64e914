import Pipeline

/// `file` sources: cache hits (`--cache-dir`) and `file://` URLs. No flags of its own.
struct FileBackend: Backend {
    var descriptor: BackendDescriptor {
        BackendDescriptor(name: "file", schemes: ["file"], capabilities: FetcherCapabilities(resumesWithValidator: true, announcesSize: true), failures: FileFetcher.failures, sourceKind: .cache)
    }

    func makeFetcher(_ shared: SharedTransport) throws -> any Fetcher { FileFetcher() }
}
