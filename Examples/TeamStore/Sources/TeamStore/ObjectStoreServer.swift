import Foundation

/// The object store `ObjectStoreFetcher` speaks to, on 127.0.0.1: objects in memory, each with a
/// version that changes when it is replaced; a range is served from `offset` only to a client that
/// names the object's current version. For the example's tests and demo.
public final class ObjectStoreServer: @unchecked Sendable {
    /// The port it listens on.
    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var objects: [String: (data: Data, version: String)] = [:]
    private var stopped = false

    /// Starts listening on a free loopback port.
    public init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 64) == 0 && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    /// `objstore://127.0.0.1:PORT/<path>` for an object put at `path` (`bucket/key`).
    public func url(_ path: String) -> String { "objstore://127.0.0.1:\(port)/\(path)" }

    /// Stores `data` at `tenant/path`, as a new version.
    public func put(_ path: String, _ data: Data, tenant: String = "default") {
        lock.withLock { objects["\(tenant)/\(path)"] = (data, UUID().uuidString.prefix(12).lowercased()) }
    }

    /// Stops accepting connections.
    public func stop() {
        let first = lock.withLock { () -> Bool in defer { stopped = true }; return !stopped }
        if first { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 { if lock.withLock({ stopped }) { return } else { continue } }
            Thread.detachNewThread { [self] in serve(connection) }
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var line = [UInt8]()
        var byte: UInt8 = 0
        while line.count < 4096, recv(connection, &byte, 1, 0) == 1, byte != 0x0A { line.append(byte) }
        let words = String(decoding: line, as: UTF8.self).split(separator: " ").map(String.init)
        guard words.count == 4, words[0] == "GET", let offset = Int(words[2]) else { return reply(connection, "ERR bad request\n") }
        guard let object = lock.withLock({ objects[words[1]] }) else { return reply(connection, "ERR notfound no object \(words[1])\n") }
        let start = words[3] == object.version && offset <= object.data.count ? offset : 0
        reply(connection, "OK \(object.data.count) \(object.version) \(start)\n")
        object.data.withUnsafeBytes { bytes in
            var sent = start
            while sent < bytes.count {
                let count = send(connection, bytes.baseAddress! + sent, min(1 << 16, bytes.count - sent), Int32(MSG_NOSIGNAL))
                if count <= 0 { return }
                sent += count
            }
        }
    }

    private func reply(_ connection: Int32, _ text: String) {
        _ = send(connection, text, text.utf8.count, Int32(MSG_NOSIGNAL))
    }
}
