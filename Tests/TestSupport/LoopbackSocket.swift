import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The few POSIX socket calls the in-process test servers need, on 127.0.0.1 only.
enum LoopbackSocket {
    /// A listening socket on 127.0.0.1 (or another loopback `address`, e.g. 127.0.0.2) with a port the
    /// kernel picked; returns (descriptor, port).
    static func listen(address host: String = "127.0.0.1", backlog: Int32 = 128) throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && Glibc.listen(fd, backlog) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            throw TestSupportError("bind/listen on \(host): \(String(cString: strerror(errno)))")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A connection to 127.0.0.1:port, or nil.
    static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let ok = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        if ok { return fd }
        close(fd)
        return nil
    }

    /// Gives up on reads that wait longer than `seconds`, so a silent client cannot hold a thread forever.
    static func setReadTimeout(_ fd: Int32, seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes everything or returns false (the peer went away). MSG_NOSIGNAL: no SIGPIPE in the test process.
    @discardableResult
    static func sendAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let sent = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0, errno == EINTR { continue }
                if sent <= 0 { return false }
                offset += sent
            }
            return true
        }
    }

    /// Reads up to the blank line that ends a request head; returns the head and any bytes after it.
    static func readHead(_ fd: Int32, limit: Int = 64 * 1024) -> (head: String, rest: Data)? {
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let separator = Data("\r\n\r\n".utf8)
        while buffer.count < limit {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[0..<count])
            if let end = buffer.range(of: separator) {
                return (String(decoding: buffer[..<end.lowerBound], as: UTF8.self), Data(buffer[end.upperBound...]))
            }
        }
        return nil
    }

    /// Waits until the peer closes the connection (or `until` passes, or `stop` says so), reading and
    /// dropping whatever it sends.
    static func waitForClose(_ fd: Int32, until end: ContinuousClock.Instant, stop: () -> Bool) {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < end, !stop() {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 100)
            if ready > 0 {
                let count = recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT))
                if count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR) { return }
            }
        }
    }

    /// Copies bytes both ways between two sockets until either side closes (a CONNECT tunnel).
    static func pump(_ a: Int32, _ b: Int32, stop: () -> Bool) {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while !stop() {
            var pollers = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&pollers, 2, 100)
            if ready < 0, errno != EINTR { return }
            for (index, poller) in pollers.enumerated() where poller.revents != 0 {
                let from = index == 0 ? a : b, to = index == 0 ? b : a
                let count = recv(from, &chunk, chunk.count, 0)
                if count <= 0 { return }
                if !sendAll(to, Data(chunk[0..<count])) { return }
            }
        }
    }

    /// Ends a connection with FIN rather than RST: the peer reads every byte sent before the close.
    static func closeGracefully(_ fd: Int32) {
        shutdown(fd, Int32(SHUT_WR))
        var chunk = [UInt8](repeating: 0, count: 4096)
        // Drain what the client still sends (nothing, usually) so the close does not turn into a reset.
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&poller, 1, 200) > 0, recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT)) > 0 {}
        close(fd)
    }
}

/// A listening socket on a loopback address that serves each connection on a thread of its own
/// until stopped: the part every in-process test server shares.
final class LoopbackListener: @unchecked Sendable {
    let port: Int
    private let descriptor: Int32
    private let lock = NSLock()
    private var stopped = false

    init(address: String = "127.0.0.1") throws {
        (descriptor, port) = try LoopbackSocket.listen(address: address)
    }

    /// Starts accepting; `serve` owns the connection's descriptor (and closes it).
    func start(name: String, _ serve: @escaping @Sendable (Int32) -> Void) {
        let acceptor = Thread { [self] in
            while !isStopped {
                let client = accept(descriptor, nil, nil)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    return
                }
                Thread { serve(client) }.start()
            }
        }
        acceptor.name = name
        acceptor.start()
    }

    var isStopped: Bool { lock.withLock { stopped } }

    /// Closes the socket once; later calls do nothing.
    func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }
}

/// A port on 127.0.0.1 where new connections hang unanswered, like a black-holed host: a listener
/// that never accepts, whose accept queue (backlog 0: room for one) is already full, so the kernel
/// drops every further SYN.
public final class UnansweredPort: @unchecked Sendable {
    public let port: Int
    private let descriptors: [Int32]

    public init() throws {
        let (listener, port) = try LoopbackSocket.listen(backlog: 0)
        guard let queued = LoopbackSocket.connect(port: port) else {
            close(listener)
            throw TestSupportError("could not fill the accept queue of 127.0.0.1:\(port)")
        }
        self.port = port
        descriptors = [listener, queued]
    }

    deinit { for fd in descriptors { close(fd) } }
}
