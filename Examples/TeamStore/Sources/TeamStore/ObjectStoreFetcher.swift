import Foundation
import Pipeline

/// Fetches `objstore://host:port/bucket/key` from a small object store that speaks one line over TCP:
/// `GET <path> <offset> <version|->` answered by `OK <size> <version> <start>` and the bytes from
/// `start`, or `ERR <notfound|busy|denied> <message>`. Written as a team outside pkgfetch would write
/// it: it only opens the object; the runner resumes, limits, hashes, reports and keeps the deadline.
public struct ObjectStoreFetcher: Fetcher {
    /// Sent with every request: the tenant whose objects are read.
    public var tenant: String

    /// A fetcher reading `tenant`'s objects.
    public init(tenant: String = "default") { self.tenant = tenant }

    public func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        let source = request.source
        guard let url = URLComponents(string: source.location), let host = url.host, let port = url.port, !url.path.isEmpty else {
            throw PkgfetchError(.rejected, "\(source.redacted): expected objstore://host:port/bucket/key", scheme: source.scheme)
        }
        var known = "-"
        if case .token(let version) = request.validator { known = version }
        let line = "GET \(tenant)\(url.path) \(request.offset) \(known)\n"
        // Connecting and reading one line block: done on the runner's blocking-I/O threads.
        let (socket, answer) = try await BlockingIO.shared.run { try Self.ask(host: host, port: port, line: line) }
        let words = answer.split(separator: " ").map(String.init)
        if words.first == "OK", words.count == 4, let size = Int64(words[1]), let start = Int64(words[3]) {
            return FetchedStream(offset: start, size: size, validator: .token(words[2]),
                                 body: .descriptor(socket, name: source.redacted))
        }
        close(socket)
        let reason: FailureReason = switch (words.first, words.dropFirst().first) {
        case ("ERR", "notfound"): .notFound
        case ("ERR", "busy"), (nil, _): .unavailable   // busy, or the connection closed before answering
        case ("ERR", "denied"): .unauthorized
        default: .rejected
        }
        throw PkgfetchError(reason, "\(source.redacted): \(answer)", scheme: source.scheme)
    }

    /// Connects, sends `line`, and reads the answer's first line; returns the socket, left at the body.
    static func ask(host: String, port: Int, line: String) throws -> (Int32, String) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else {
            throw PkgfetchError(.rejected, "objstore: \(host) is not an IPv4 address")
        }
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var answer = [UInt8]()
        var byte: UInt8 = 0
        guard connected == 0, send(socket, line, line.utf8.count, 0) == line.utf8.count else {
            close(socket)
            throw PkgfetchError(.unavailable, "objstore: cannot reach \(host):\(port): \(String(cString: strerror(errno)))")
        }
        while answer.count < 512, recv(socket, &byte, 1, 0) == 1, byte != 0x0A { answer.append(byte) }
        return (socket, String(decoding: answer, as: UTF8.self))
    }
}
