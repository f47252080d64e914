import CCurl
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// The one HTTP client pkgfetch has: libcurl, shared by the HTTP fetcher and the registry client.
/// Handles are pooled, so requests to the same host reuse connections; each transfer runs on a
/// thread of its own so a long download never blocks Swift's cooperative pool.
public final class CurlTransport: @unchecked Sendable {
    public struct Options: Sendable, Equatable {
        /// A CA bundle used besides the system's (`--ca-file`).
        public var caFile: String?
        /// Skip TLS verification (`--insecure`).
        public var insecure: Bool
        public var userAgent: String
        /// How long a connection may take to open, for requests that do not say (`--connect-timeout`).
        public var connectTimeout: Duration
        /// More CA bundles trusted besides the system's and `caFile` (a registry mirror's own CA).
        public var moreCAFiles: [String] = []
        /// A client certificate (PEM) to show servers that ask for one, and its key (nil: in the same file).
        public var clientCertificate: String?
        public var clientKey: String?
        /// Options to treat as unknown to the libcurl in use, as an older one would (tests only).
        var unknownOptions: Set<UInt32> = []

        public init(caFile: String? = nil, insecure: Bool = false, userAgent: String = "pkgfetch/0.1",
                    connectTimeout: Duration = .seconds(30)) {
            self.caFile = caFile
            self.insecure = insecure
            self.userAgent = userAgent
            self.connectTimeout = connectTimeout
        }
    }

    public let options: Options
    /// The system bundle plus `options.caFile` and `options.moreCAFiles`, read once.
    private let trusted: TrustedCertificates?
    private let lock = Lock()
    private var idle: [UnsafeMutableRawPointer] = []

    public init(options: Options = Options()) {
        _ = CurlTransport.globalInit
        self.options = options
        let extra = (options.caFile.map { [$0] } ?? []) + options.moreCAFiles
        trusted = extra.isEmpty ? nil : TrustedCertificates.adding(extra)
    }

    deinit {
        for handle in idle { curl_easy_cleanup(handle) }
    }

    /// `curl_global_init` once per process, before any handle exists.
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    /// Sends `request`; once the final status and headers are known, `destination` says where the body goes.
    public func send(_ request: HTTPRequest,
                     destination: @escaping @Sendable (HTTPResponseHead) -> HTTPBodyDestination = { _ in .collect(limit: 1 << 20) })
        async throws -> HTTPResponse {
        let transfer = Transfer(request: request, destination: destination)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
                DetachedThread.start(stackSize: 1 << 20) { [self] in
                    continuation.resume(with: Result { try self.perform(transfer) })
                }
            }
        } onCancel: {
            transfer.cancel()
        }
    }

    private func checkout() throws -> UnsafeMutableRawPointer {
        if let handle = lock.withLock({ idle.popLast() }) {
            curl_easy_reset(handle)
            return handle
        }
        guard let handle = curl_easy_init() else {
            throw TransportError(kind: .other, message: "libcurl could not make a transfer handle (out of memory?)", curlCode: 0)
        }
        return handle
    }

    private func checkin(_ handle: UnsafeMutableRawPointer) {
        lock.withLock { idle.append(handle) }
    }

    private func perform(_ transfer: Transfer) throws -> HTTPResponse {
        let handle = try checkout()
        transfer.handle = handle
        let request = transfer.request
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for field in request.headers.fields {
            headerList = curl_slist_append(headerList, "\(field.name): \(field.value)")
        }
        // Empty Accept-less default: libcurl sends "Accept: */*" unless told otherwise, which is fine.
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let options = CurlOptionSetter(handle: handle, unknown: self.options.unknownOptions)

        let outcome: Result<CURLcode, any Error> = errorBuffer.withUnsafeMutableBufferPointer { errors in
            Result {
                try configure(options, for: transfer, headers: headerList, errors: errors.baseAddress)
                return curl_easy_perform(handle)
            }
        }
        // A handle must not keep pointers to the header list and error buffer freed below; one that
        // cannot be told so is not used again.
        do {
            try options.set(CURLOPT_HTTPHEADER, list: nil)
            try options.set(CURLOPT_ERRORBUFFER, pointer: nil)
            checkin(handle)
        } catch {
            curl_easy_cleanup(handle)
        }
        let code = try outcome.get()

        if let failure = transfer.sinkError { throw failure }
        if code != CURLE_OK {
            let detail = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            var text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            if code == CURLE_UNSUPPORTED_PROTOCOL, request.url.lowercased().hasPrefix("https://") {
                text = "refused a redirect from https:// to another protocol (\(text))"
            }
            throw TransportError(kind: Self.kind(of: code, cancelled: transfer.isCancelled),
                                 message: Redaction.url(text),
                                 curlCode: Int(code.rawValue))
        }
        let head = transfer.head ?? transfer.makeHead()
        if transfer.head == nil { try transfer.begin(head) }
        return HTTPResponse(head: head, body: transfer.collected, streamedBytes: transfer.streamed)
    }

    /// Every option of one transfer; the first one libcurl refuses throws.
    private func configure(_ options: CurlOptionSetter, for transfer: Transfer, headers: UnsafeMutablePointer<curl_slist>?,
                           errors: UnsafeMutablePointer<CChar>?) throws {
        let request = transfer.request
        try options.set(CURLOPT_URL, request.url)
        try options.set(CURLOPT_NOSIGNAL, 1)
        // An https:// download is never redirected to plain http://, where anyone on the path could swap it.
        try options.restrictProtocols(redirectsHTTPSOnly: request.url.lowercased().hasPrefix("https://"))
        try options.set(CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0)
        try options.set(CURLOPT_MAXREDIRS, 10)
        // Authorization stays with the host it was meant for; libcurl's default, stated here on purpose.
        try options.set(CURLOPT_UNRESTRICTED_AUTH, 0)
        try options.set(CURLOPT_USERAGENT, self.options.userAgent)
        try options.set(CURLOPT_BUFFERSIZE, 512 * 1024)
        try options.set(CURLOPT_TCP_KEEPALIVE, 1)
        var connectTimeout = max(1, Int((request.connectTimeout ?? self.options.connectTimeout).milliseconds))
        if let deadline = request.deadline {
            let left = max(1, Int((deadline - .now).milliseconds))
            try options.set(CURLOPT_TIMEOUT_MS, left)
            connectTimeout = min(left, connectTimeout)
        }
        try options.set(CURLOPT_CONNECTTIMEOUT_MS, connectTimeout)
        try options.set(CURLOPT_LOW_SPEED_LIMIT, 1)
        try options.set(CURLOPT_LOW_SPEED_TIME, max(1, Int(request.stallTimeout.milliseconds / 1000)))
        if let trusted {
            try trusted.pem.withUnsafeBytes { try options.set(CURLOPT_CAINFO_BLOB, blob: $0) }
        } else if let caFile = self.options.caFile {
            try options.set(CURLOPT_CAINFO, caFile)  // unreadable: libcurl names the problem
        }
        if let certificate = self.options.clientCertificate {
            try options.set(CURLOPT_SSLCERT, certificate)
            try options.set(CURLOPT_SSLKEY, self.options.clientKey ?? certificate)
        }
        if self.options.insecure {
            try options.set(CURLOPT_SSL_VERIFYPEER, 0)
            try options.set(CURLOPT_SSL_VERIFYHOST, 0)
        }
        if request.bypassProxy {
            try options.set(CURLOPT_NOPROXY, "*")
        } else if let proxy = ProxyEnvironment.explicitProxy(for: request.url) {
            try options.set(CURLOPT_PROXY, proxy)
        }
        // A proxy's "200 Connection established" is not the server's answer.
        try options.set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        switch request.method.uppercased() {
        case "GET": try options.set(CURLOPT_HTTPGET, 1)
        case "HEAD": try options.set(CURLOPT_NOBODY, 1)
        case "POST": try options.set(CURLOPT_POST, 1)
        default: try options.set(CURLOPT_CUSTOMREQUEST, request.method.uppercased())
        }
        if let body = request.body {
            try options.set(CURLOPT_POSTFIELDSIZE, body.count)
            try body.withUnsafeBytes { try options.set(CURLOPT_COPYPOSTFIELDS, pointer: UnsafeMutableRawPointer(mutating: $0.baseAddress)) }
        }
        try options.set(CURLOPT_HTTPHEADER, list: headers)
        try options.set(CURLOPT_ERRORBUFFER, pointer: errors.map(UnsafeMutableRawPointer.init))

        let context = Unmanaged.passUnretained(transfer).toOpaque()
        try options.set(CURLOPT_WRITEFUNCTION, callback: curlWrite)
        try options.set(CURLOPT_WRITEDATA, pointer: context)
        try options.set(CURLOPT_HEADERFUNCTION, callback: curlHeader)
        try options.set(CURLOPT_HEADERDATA, pointer: context)
        try options.set(progress: curlProgress)
        try options.set(CURLOPT_XFERINFODATA, pointer: context)
        try options.set(CURLOPT_NOPROGRESS, 0)
    }

    static func kind(of code: CURLcode, cancelled: Bool) -> TransportError.Kind {
        if cancelled { return .cancelled }
        switch code {
        case CURLE_OPERATION_TIMEDOUT: return .timedOut
        case CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_HTTP2, CURLE_HTTP2_STREAM: return .partial
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_SEND_ERROR,
             CURLE_WEIRD_SERVER_REPLY:
            return .connection
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE,
             CURLE_SSL_CIPHER:
            return .tls
        case CURLE_TOO_MANY_REDIRECTS: return .tooManyRedirects
        case CURLE_ABORTED_BY_CALLBACK: return .cancelled
        default: return .other
        }
    }
}

/// The state of one transfer, reached from libcurl's callbacks through their user-data pointer.
final class Transfer: @unchecked Sendable {
    let request: HTTPRequest
    let destination: @Sendable (HTTPResponseHead) -> HTTPBodyDestination
    var handle: UnsafeMutableRawPointer?
    var status = 0
    var headers = HTTPHeaders()
    var head: HTTPResponseHead?
    var sink: ((UnsafeRawBufferPointer) throws -> Void)?
    var collectLimit = 0
    var collected = Data()
    var streamed: Int64 = 0
    var sinkError: (any Error)?
    private let cancelLock = Lock()
    private var cancelled = false

    init(request: HTTPRequest, destination: @escaping @Sendable (HTTPResponseHead) -> HTTPBodyDestination) {
        self.request = request
        self.destination = destination
    }

    func cancel() { cancelLock.withLock { cancelled = true } }
    var isCancelled: Bool { cancelLock.withLock { cancelled } }

    func makeHead() -> HTTPResponseHead {
        var code = 0
        var effective: UnsafeMutablePointer<CChar>?
        if let handle {
            _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code)
            _ = ccurl_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &effective)
        }
        return HTTPResponseHead(status: code != 0 ? code : status, headers: headers,
                                url: effective.map { String(cString: $0) } ?? request.url)
    }

    /// Called once, when the first body byte (or the end of a bodiless response) arrives.
    func begin(_ head: HTTPResponseHead) throws {
        self.head = head
        switch destination(head) {
        case .collect(let limit): collectLimit = limit
        case .stream(let consumer): sink = consumer
        }
    }

    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        do {
            if head == nil { try begin(makeHead()) }
            if let sink {
                try sink(bytes)
                streamed += Int64(bytes.count)
            } else {
                guard collected.count + bytes.count <= collectLimit else {
                    throw TransportError(kind: .other, message: "\(Redaction.url(request.url)): response body larger than \(collectLimit) bytes",
                                         curlCode: 0)
                }
                collected.append(contentsOf: bytes)
            }
            return true
        } catch {
            sinkError = error
            return false
        }
    }

    func header(_ line: String) {
        let trimmed = line.trimmingWhitespace
        if trimmed.hasPrefix("HTTP/") {
            // A new response in a redirect chain (or after 100 Continue): only the last one counts.
            headers = HTTPHeaders()
            let parts = trimmed.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        } else if let colon = trimmed.firstIndex(of: ":") {
            let name = String(trimmed[..<colon]).trimmingWhitespace
            let value = String(trimmed[trimmed.index(after: colon)...]).trimmingWhitespace
            headers.add(name, value)
        }
    }
}

private let curlWrite: ccurl_data_callback = { pointer, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    return transfer.receive(UnsafeRawBufferPointer(start: pointer, count: length)) ? length : 0
}

private let curlHeader: ccurl_data_callback = { pointer, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    if let pointer {
        let line = String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
        transfer.header(line)
    }
    return length
}

private let curlProgress: ccurl_xferinfo_callback = { context, _, _, _, _ in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    return transfer.isCancelled ? 1 : 0
}
