#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// A fetcher that plays a script: each open either throws the next scripted error or delivers
/// `content` whole, promising `promise` (a digest, a size).
public final class ScriptedFetcher: Fetcher, @unchecked Sendable {
    private let lock = Lock()
    private var script: [PkgfetchError?]
    private var opened = 0
    /// The bytes every successful open delivers.
    public let content: Data
    /// What each stream promises.
    public let promise: ExpectedContent

    /// A fetcher whose first opens fail with `failures` (nil: succeeds) and later ones deliver `content`.
    public init(failures: [PkgfetchError?] = [], content: Data = Data("package bytes".utf8), promise: ExpectedContent = .init()) {
        script = failures
        self.content = content
        self.promise = promise
    }

    /// Opens so far.
    public var attemptCount: Int { lock.withLock { opened } }

    /// Whole streams only: a scripted source plays its script from the offset asked.
    public var servesRanges: Bool { false }

    /// Throws the next scripted error, or delivers `content`.
    public func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        let next: PkgfetchError? = lock.withLock {
            opened += 1
            return script.isEmpty ? nil : script.removeFirst()
        }
        if let next { throw next }
        return FetchedStream(size: promise.size, digest: promise.digest, body: .bytes(content))
    }
}
