#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// Header fields in order, looked up without regard to case.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0, value: $0.1) }
    }

    public subscript(name: String) -> String? {
        fields.last { $0.name.lowercased() == name.lowercased() }?.value
    }

    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    public mutating func set(_ name: String, _ value: String) {
        fields.removeAll { $0.name.lowercased() == name.lowercased() }
        fields.append((name, value))
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
        a.fields.map { "\($0.name.lowercased()):\($0.value)" } == b.fields.map { "\($0.name.lowercased()):\($0.value)" }
    }
}

/// One request. Bodies are for small POSTs (token and exchange forms); downloads stream the response.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: HTTPHeaders
    public var body: Data?
    /// When the whole transfer must have ended; libcurl enforces it.
    public var deadline: ContinuousClock.Instant?
    /// How long the connection may take to open; nil: the transport's own setting.
    public var connectTimeout: Duration?
    /// A transfer that moves less than one byte per second for this long is cut (a stall).
    public var stallTimeout: Duration
    public var followRedirects: Bool
    /// Never use a proxy for this request (link-local metadata endpoints).
    public var bypassProxy: Bool

    public init(method: String = "GET", url: String, headers: HTTPHeaders = HTTPHeaders(), body: Data? = nil,
                deadline: ContinuousClock.Instant? = nil, connectTimeout: Duration? = nil,
                stallTimeout: Duration = .seconds(30), followRedirects: Bool = true, bypassProxy: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.deadline = deadline
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
        self.followRedirects = followRedirects
        self.bypassProxy = bypassProxy
    }
}

/// The status line and headers of the final response (after redirects).
public struct HTTPResponseHead: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    /// The URL that answered, after redirects.
    public var url: String

    public init(status: Int, headers: HTTPHeaders, url: String) {
        self.status = status
        self.headers = headers
        self.url = url
    }
}

/// A finished exchange. `body` holds a collected body (capped); a streamed body went to its sink.
public struct HTTPResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: Data
    /// Bytes delivered to a streaming sink.
    public var streamedBytes: Int64

    public var status: Int { head.status }
    public var headers: HTTPHeaders { head.headers }
}

/// Where a response body goes, chosen once the status and headers are known.
public enum HTTPBodyDestination {
    /// Keep up to `limit` bytes in memory (error bodies, manifests, tokens); more is an error.
    case collect(limit: Int)
    /// Hand each chunk to the closure as it arrives; a throw aborts the transfer and is rethrown.
    case stream((UnsafeRawBufferPointer) throws -> Void)
}

/// A failure below HTTP: no connection, a cut transfer, a timeout, a TLS problem.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The connect timeout, the deadline or the stall limit was hit.
        case timedOut
        /// Could not connect, or the connection broke (retryable).
        case connection
        /// The transfer ended before the announced length (retryable, resumable).
        case partial
        /// Certificate or TLS handshake failure (not retryable: the same thing will happen again).
        case tls
        case tooManyRedirects
        /// The caller's task was cancelled.
        case cancelled
        case other
    }

    public var kind: Kind
    /// libcurl's message, with the URL's query removed.
    public var message: String
    public var curlCode: Int

    public var description: String { message }

    /// Failures that may go away when tried again.
    public var isTransient: Bool { [.timedOut, .connection, .partial].contains(kind) }
}

extension HTTPResponseHead {
    /// `Retry-After` as a duration: delta-seconds or an HTTP date.
    /// At most a day: a server's number is clamped, never trusted to fit.
    public var retryAfter: Duration? {
        let day = 86_400
        guard let value = headers["Retry-After"]?.trimmingWhitespace else { return nil }
        if let seconds = Int(value) { return .seconds(min(max(0, seconds), day)) }
        guard let date = HTTPDate.parse(value) else { return nil }
        return ServerNumber.clamped(date.timeIntervalSinceNow * 1000, to: 0...(day * 1000)).map { .milliseconds($0) }
    }
}

/// A non-2xx answer (after redirects), with the start of its body for error messages.
public struct HTTPStatusError: Error, Sendable, CustomStringConvertible {
    /// The answer's status line and headers.
    public var head: HTTPResponseHead
    /// The start of the answer's body.
    public var body: Data
    /// The answer's status.
    public var status: Int { head.status }
    public var description: String { "HTTP \(head.status) from \(Redaction.url(head.url))" }

    /// For callers that get a response from `CurlTransport.send` and classify it like a download's.
    public init(head: HTTPResponseHead, body: Data) {
        self.head = head
        self.body = body
    }
}
