import ArgumentParser
import Pipeline

/// `file` sources: cache hits (`--cache-dir`) and `file://` URLs. No flags of its own.
struct FileBackend: BuiltInBackend {
    var schemes: [String] { ["file"] }

    func makeFetcher(_ shared: SharedTransport) throws -> any Fetcher { FileFetcher() }
}
