import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A loopback server that answers every request with the same bytes, exactly as given: for heads no
/// well-behaved server writes (bytes that are not UTF-8 in a header value), which `FaultServer` and
/// `StubHTTPServer` cannot send since they build their heads from strings.
public final class RawHTTPServer: @unchecked Sendable {
    public let port: Int
    private let listener: LoopbackListener
    private let lock = NSLock()
    private var count = 0

    /// Answers each request with `response` (status line, headers, blank line, body), then closes.
    public init(response: Data) throws {
        listener = try LoopbackListener()
        port = listener.port
        listener.start(name: "raw-server-\(port)") { [self] fd in
            LoopbackSocket.setReadTimeout(fd, seconds: 10)
            if LoopbackSocket.readHead(fd) != nil {
                lock.withLock { count += 1 }
                LoopbackSocket.sendAll(fd, response)
            }
            LoopbackSocket.closeGracefully(fd)
        }
    }

    deinit { stop() }

    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// How many requests were answered.
    public var requestCount: Int { lock.withLock { count } }

    public func stop() { listener.stop() }
}
