import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 server of our own, in-process on 127.0.0.1, for the faults no real server produces on
/// demand: a connection cut mid-body, 429/503 with Retry-After, a stall, a Range ignored or answered
/// with the wrong Content-Range, a redirect elsewhere, a corrupted body. Each path has a body and a
/// script of faults used one per request, in order; once the script is used up the body is served
/// properly (with Range support, and a strong ETag honoured in If-Range unless the path is served
/// without validators). Every request is recorded. It also acts as a forward proxy: an
/// absolute-form request (`GET http://host/path`) is answered from its own paths, and `CONNECT`
/// opens a tunnel to a loopback port. One thread per connection; every response closes the connection.
public final class FaultServer: @unchecked Sendable {
    public enum Fault: Sendable {
        /// Serve this request properly (to put a fault further down the script).
        case pass
        /// Announce the whole length, send this many body bytes, close.
        case cut(afterBytes: Int)
        /// Answer with this status (and headers, e.g. `Retry-After`, and a body) instead of the path's body.
        case status(Int, headers: [String: String] = [:], body: Data? = nil)
        /// Send this many body bytes, then nothing more while the client waits.
        case stall(afterBytes: Int)
        /// Answer a Range request with 200 and the whole body.
        case ignoreRange
        /// Answer with 206 whose Content-Range (and body) starts one byte after what was asked.
        case wrongContentRange
        /// Answer a Range request with 206 of the length asked but starting `by` bytes off (a
        /// Content-Range for another offset, the body of that range).
        case shiftedRange(by: Int)
        /// Answer a bounded Range request (`bytes=N-M`) with 206 from N to the end of the body.
        case openEndedRange
        /// Answer a Range request as asked even when its If-Range names another version (a server
        /// that ignores If-Range): a 206 of the current body.
        case ignoreIfRange
        /// Redirect (302 unless told otherwise) to a URL.
        case redirect(to: String, status: Int = 302)
        /// Serve the body with its first byte flipped.
        case corrupt
        /// Announce the whole length, send this many body bytes, close, and from then on serve `body`
        /// instead (a file replaced on the server while a client was reading it).
        case cutAndReplace(afterBytes: Int, body: Data)
    }

    /// One request as received.
    public struct Request: Sendable {
        public var method: String
        /// As sent: `/path?query`, `http://host:port/path` from a proxy client, `host:port` for CONNECT.
        public var target: String
        /// The path without query (for an absolute-form target, the URL's path).
        public var path: String
        public var headers: [HTTPField]
        /// When the request arrived.
        public var at: ContinuousClock.Instant
        /// When the server was done with the connection: for a stall, when the client gave up.
        public var ended: ContinuousClock.Instant?

        /// The last value of a header, by case-insensitive name.
        public func header(_ name: String) -> String? {
            headers.last { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    public struct HTTPField: Sendable {
        public var name: String
        public var value: String
    }

    public let port: Int
    private let state: State

    public init() throws {
        let listener = try LoopbackListener()
        port = listener.port
        state = State(listener: listener)
        let state = self.state
        listener.start(name: "fault-server-\(port)") { fd in state.handle(fd) }
    }

    deinit { state.stop() }

    /// `http://127.0.0.1:PORT` + path.
    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Serves `body` at `path`, misbehaving as `faults` say for the first requests. Without
    /// `validators`, no ETag is sent and If-Range is ignored (a server that names no versions).
    public func serve(_ path: String, body: Data, faults: [Fault] = [], validators: Bool = true) {
        state.withLock { $0.routes[path] = Route(body: body, faults: faults, validators: validators) }
    }

    /// The strong ETag the server sends for `body`.
    public static func entityTag(of body: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "\"\(String(hash, radix: 16))-\(body.count)\""
    }

    /// Requests received, in order; only those for `path` when given.
    public func requests(to path: String? = nil) -> [Request] {
        state.withLock { $0.requests.filter { path == nil || $0.path == path } }
    }

    public func stop() { state.stop() }

    struct Route {
        var body: Data { didSet { tag = FaultServer.entityTag(of: body) } }
        var faults: [Fault]
        var validators: Bool
        /// The body's ETag, computed once (hashing a large body for each request is slow in a debug build).
        var tag: String

        init(body: Data, faults: [Fault], validators: Bool) {
            self.body = body
            self.faults = faults
            self.validators = validators
            tag = FaultServer.entityTag(of: body)
        }
    }

    /// Everything the connection threads share.
    final class State: @unchecked Sendable {
        struct Shared {
            var routes: [String: Route] = [:]
            var requests: [Request] = []
        }

        let listener: LoopbackListener
        private let lock = NSLock()
        private var shared = Shared()

        init(listener: LoopbackListener) { self.listener = listener }

        func withLock<T>(_ body: (inout Shared) -> T) -> T { lock.withLock { body(&shared) } }
        var isStopped: Bool { listener.isStopped }

        func stop() { listener.stop() }

        func handle(_ fd: Int32) {
            LoopbackSocket.setReadTimeout(fd, seconds: 10)
            guard let (head, rest) = LoopbackSocket.readHead(fd) else { close(fd); return }
            let request = Self.parse(head)
            if request.method == "CONNECT" {
                withLock { $0.requests.append(request) }
                tunnel(fd, to: request.target, pending: rest)
                return
            }
            let index = withLock { shared -> Int in
                shared.requests.append(request)
                return shared.requests.count - 1
            }
            defer { withLock { $0.requests[index].ended = .now } }
            let (route, fault) = withLock { shared -> (Route?, Fault?) in
                guard var route = shared.routes[request.path] else { return (nil, nil) }
                let fault = route.faults.isEmpty ? nil : route.faults.removeFirst()
                shared.routes[request.path] = route
                return (route, fault)
            }
            guard let route else {
                respond(fd, status: 404, headers: [:], body: Data("not found\n".utf8))
                return
            }
            if case .cutAndReplace(_, let next) = fault { withLock { $0.routes[request.path]?.body = next } }
            answer(fd, request: request, route: route, fault: fault)
        }

        private func answer(_ fd: Int32, request: Request, route: Route, fault: Fault?) {
            let body = route.body
            switch fault {
            case .status(let code, let headers, let body):
                respond(fd, status: code, headers: headers, body: body ?? Data("fault: HTTP \(code)\n".utf8))
            case .redirect(let location, let code):
                respond(fd, status: code, headers: ["Location": location], body: Data())
            default:
                var payload = Self.payload(for: request, body: body, fault: fault, tag: route.validators ? route.tag : nil)
                if case .corrupt = fault, !payload.body.isEmpty {
                    payload.body[payload.body.startIndex] ^= 0xFF
                }
                let headOnly = request.method == "HEAD"
                switch fault {
                case .cut(let bytes), .cutAndReplace(let bytes, _):
                    writeHead(fd, status: payload.status, headers: payload.headers, length: payload.body.count)
                    if !headOnly { LoopbackSocket.sendAll(fd, payload.body.prefix(bytes)) }
                    LoopbackSocket.closeGracefully(fd)
                case .stall(let bytes):
                    writeHead(fd, status: payload.status, headers: payload.headers, length: payload.body.count)
                    if !headOnly { LoopbackSocket.sendAll(fd, payload.body.prefix(bytes)) }
                    LoopbackSocket.waitForClose(fd, until: .now + .seconds(120)) { [self] in isStopped }
                    close(fd)
                default:
                    respond(fd, status: payload.status, headers: payload.headers, body: headOnly ? nil : payload.body,
                            length: payload.body.count)
                }
            }
        }

        struct Payload {
            var status: Int
            var headers: [String: String]
            var body: Data
        }

        /// What a proper server would send for this request (206 for a usable Range), bent by the fault.
        static func payload(for request: Request, body: Data, fault: Fault?, tag: String?) -> Payload {
            let size = body.count
            var start = request.header("Range").flatMap(rangeStart)
            var end = request.header("Range").flatMap(rangeEnd).map { min($0, size - 1) } ?? size - 1
            if case .ignoreRange = fault { start = nil }
            if case .wrongContentRange = fault { start = (start ?? 0) + 1 }
            if case .openEndedRange = fault { end = size - 1 }
            if case .shiftedRange(let shift) = fault, let first = start {
                start = min(max(0, first + shift), size - 1)
                end = min(max(0, end + shift), size - 1)
            }
            // If-Range naming another version: the whole new body, as a 200 (RFC 9110 13.1.5).
            var honoursIfRange = true
            if case .ignoreIfRange = fault { honoursIfRange = false }
            if let tag, let asked = request.header("If-Range"), asked != tag, honoursIfRange { start = nil }
            var headers = ["Accept-Ranges": "bytes"]
            if let tag { headers["ETag"] = tag }
            guard let start else { return Payload(status: 200, headers: headers, body: body) }
            guard start < size else {
                return Payload(status: 416, headers: headers.merging(["Content-Range": "bytes */\(size)"]) { $1 }, body: Data())
            }
            let last = max(start, end)
            return Payload(status: 206, headers: headers.merging(["Content-Range": "bytes \(start)-\(last)/\(size)"]) { $1 },
                           body: body.subdata(in: start..<(last + 1)))
        }

        /// N in `bytes=N-` or `bytes=N-M`.
        static func rangeStart(_ value: String) -> Int? {
            guard value.hasPrefix("bytes="), let dash = value.firstIndex(of: "-") else { return nil }
            return Int(value[value.index(value.startIndex, offsetBy: 6)..<dash])
        }

        /// M in `bytes=N-M`; nil for an open-ended range.
        static func rangeEnd(_ value: String) -> Int? {
            guard value.hasPrefix("bytes="), let dash = value.firstIndex(of: "-") else { return nil }
            return Int(value[value.index(after: dash)...])
        }

        private func writeHead(_ fd: Int32, status: Int, headers: [String: String], length: Int) {
            var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Length: \(length)\r\nConnection: close\r\n"
            for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
            LoopbackSocket.sendAll(fd, Data((text + "\r\n").utf8))
        }

        private func respond(_ fd: Int32, status: Int, headers: [String: String], body: Data?, length: Int? = nil) {
            writeHead(fd, status: status, headers: headers, length: length ?? body?.count ?? 0)
            if let body { LoopbackSocket.sendAll(fd, body) }
            LoopbackSocket.closeGracefully(fd)
        }

        /// `CONNECT 127.0.0.1:PORT`: connects there and copies bytes both ways. Loopback targets only.
        private func tunnel(_ fd: Int32, to target: String, pending: Data) {
            guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...]),
                  ["127.0.0.1", "localhost"].contains(String(target[..<colon])),
                  let upstream = LoopbackSocket.connect(port: port) else {
                respond(fd, status: 502, headers: [:], body: Data("cannot reach \(target)\n".utf8))
                return
            }
            LoopbackSocket.setReadTimeout(fd, seconds: 0)
            LoopbackSocket.sendAll(fd, Data("HTTP/1.1 200 Connection established\r\n\r\n".utf8))
            if !pending.isEmpty { LoopbackSocket.sendAll(upstream, pending) }
            LoopbackSocket.pump(fd, upstream) { [self] in isStopped }
            close(upstream)
            close(fd)
        }

        static func parse(_ head: String) -> Request {
            let lines = head.components(separatedBy: "\r\n")
            let parts = (lines.first ?? "").split(separator: " ")
            let method = parts.count > 0 ? String(parts[0]) : ""
            let target = parts.count > 1 ? String(parts[1]) : ""
            var path = target
            if let scheme = path.range(of: "://") {
                let afterHost = path[scheme.upperBound...].firstIndex(of: "/") ?? path.endIndex
                path = String(path[afterHost...])
            }
            if let query = path.firstIndex(of: "?") { path = String(path[..<query]) }
            let headers = lines.dropFirst().compactMap { line -> HTTPField? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return HTTPField(name: String(line[..<colon]),
                                 value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            return Request(method: method, target: target, path: path, headers: headers, at: .now)
        }

        static func reason(_ status: Int) -> String {
            switch status {
            case 200: "OK"
            case 206: "Partial Content"
            case 301, 302, 303, 307, 308: "Redirect"
            case 404: "Not Found"
            case 416: "Range Not Satisfiable"
            case 429: "Too Many Requests"
            case 500: "Internal Server Error"
            case 503: "Service Unavailable"
            default: "Status"
            }
        }
    }
}
