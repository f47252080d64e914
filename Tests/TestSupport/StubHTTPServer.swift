import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A request as a stub server saw it.
public struct StubRequest: Sendable {
    public var method: String
    /// Path with query, as sent.
    public var target: String
    public var headers: [(name: String, value: String)]
    public var body: Data
    /// The port the request arrived on (several stubs may log into one test).
    public var port: Int

    public func header(_ name: String) -> String? {
        headers.last { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }

    /// Query parameters in order, percent-decoded (`+` as space, as forms encode it).
    public var query: [(String, String)] { Self.decodeForm(target.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? "") }

    /// The body as a form, for `application/x-www-form-urlencoded` POSTs.
    public var form: [(String, String)] { Self.decodeForm(String(decoding: body, as: UTF8.self)) }

    static func decodeForm(_ text: String) -> [(String, String)] {
        text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
        }
    }
}

/// What a stub answers. `cutAfter` sends the full `Content-Length` but closes after that many body
/// bytes: a connection cut mid-body.
public struct StubResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data
    public var cutAfter: Int?

    public init(status: Int, headers: [(String, String)] = [], body: Data = Data(), cutAfter: Int? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.cutAfter = cutAfter
    }

    public static func json(_ object: Any, status: Int = 200, headers: [(String, String)] = []) -> StubResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return StubResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: data)
    }
}

/// A tiny HTTP/1.1 server on 127.0.0.1 for the parts of a test no real server plays on demand (a
/// token issuer, a registry front that redirects blobs). One thread per connection, one request
/// per connection (`Connection: close`), every request logged.
public final class StubHTTPServer: @unchecked Sendable {
    public let port: Int
    private let listener: LoopbackListener
    private let handler: @Sendable (StubRequest) -> StubResponse
    private let lock = NSLock()
    private var log: [StubRequest] = []

    /// The loopback address listened on: 127.0.0.1 unless another (e.g. 127.0.0.2, to tell two
    /// servers apart by host where NO_PROXY matches hosts, not ports).
    public let address: String

    public init(address: String = "127.0.0.1", handler: @escaping @Sendable (StubRequest) -> StubResponse) throws {
        self.handler = handler
        self.address = address
        listener = try LoopbackListener(address: address)
        port = listener.port
        listener.start(name: "stub-server-\(port)") { [self] fd in serve(fd) }
    }

    deinit { stop() }

    /// Every request so far, in arrival order.
    public var requests: [StubRequest] { lock.withLock { log } }

    public var url: String { "http://\(address):\(port)" }

    public func stop() { listener.stop() }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        LoopbackSocket.setReadTimeout(fd, seconds: 10)
        guard let request = readRequest(fd) else { return }
        lock.withLock { log.append(request) }
        let response = handler(request)
        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        var hasLength = false
        for (name, value) in response.headers {
            head += "\(name): \(value)\r\n"
            // A body sent chunked (the handler encodes it) has no Content-Length.
            if ["content-length", "transfer-encoding"].contains(name.lowercased()) { hasLength = true }
        }
        if !hasLength { head += "Content-Length: \(response.body.count)\r\n" }
        head += "Connection: close\r\n\r\n"
        guard LoopbackSocket.sendAll(fd, Data(head.utf8)) else { return }
        if request.method != "HEAD" {
            let body = response.cutAfter.map { response.body.prefix($0) } ?? response.body
            LoopbackSocket.sendAll(fd, Data(body))
        }
    }

    private func readRequest(_ fd: Int32) -> StubRequest? {
        guard let (headText, rest) = LoopbackSocket.readHead(fd, limit: 1 << 20) else { return nil }
        var lines = headText.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                            String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        var body = rest
        let length = headers.last { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while body.count < length {
            let count = read(fd, &buffer, min(buffer.count, length - body.count))
            if count <= 0 { return nil }
            body.append(contentsOf: buffer[0..<count])
        }
        return StubRequest(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: body, port: port)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 206: "Partial Content"
        case 307: "Temporary Redirect"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 416: "Range Not Satisfiable"
        default: "Status"
        }
    }
}
