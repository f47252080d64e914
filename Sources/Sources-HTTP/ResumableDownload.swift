import Foundation
import Pipeline

/// Downloads one URL into a staging file, hashing on the way (the file does that). A transfer cut
/// mid-body is resumed with `Range: bytes=N-` against the original URL, never a redirect target
/// whose signature may have expired; a 206 must start at N, and a 200 restarts from byte 0.
public struct ResumableDownload: Sendable {
    public var transport: CurlTransport
    /// Resumes allowed within one attempt, each only after the previous request made progress.
    public var maxResumes: Int
    public var stallTimeout: Duration

    public init(transport: CurlTransport, maxResumes: Int = 5, stallTimeout: Duration = .seconds(30)) {
        self.transport = transport
        self.maxResumes = maxResumes
        self.stallTimeout = stallTimeout
    }

    /// Why a request within one attempt is followed by another; for events and logs.
    public struct Resume: Sendable {
        /// The status of the response that ended early or could not be used.
        public var status: Int?
        /// Bytes in the file when the next request goes out (its Range start; 0 = from the beginning).
        public var from: Int64
        public var reason: String
    }

    /// Fetches `url` into `file`, continuing from `file.byteCount` if it already holds a prefix.
    /// Returns the final response head; throws `HTTPStatusError` for a non-2xx answer, or `TransportError`.
    /// With `byteLimit`, a body that would make the file larger is cut at once (`integrity-mismatch`),
    /// so a server cannot fill the disk past what a descriptor promised.
    @discardableResult
    public func run(url: String, headers: HTTPHeaders = HTTPHeaders(), into file: StagingFile,
                    deadline: ContinuousClock.Instant?, source: Source, byteLimit: Int64? = nil,
                    progress: any ProgressReporter = SilentProgress(),
                    onResume: @Sendable (Resume) -> Void = { _ in }) async throws -> HTTPResponseHead {
        var resumes = 0
        progress.started(source, totalBytes: nil)
        defer { progress.finished() }
        while true {
            let offset = file.byteCount
            var requestHeaders = headers
            if offset > 0 { requestHeaders.set("Range", "bytes=\(offset)-") }
            let request = HTTPRequest(url: url, headers: requestHeaders, deadline: deadline, stallTimeout: stallTimeout)
            let body = ResponseBody(file: file, offset: offset, source: source, progress: progress, byteLimit: byteLimit)
            do {
                let response = try await transport.send(request, destination: body.destination)
                if let head = try body.finish(response.head) { return head }
            } catch is ResponseBody.Stop {
                // The body was not worth reading to its end: an error page, or a range we cannot use.
            } catch let error as TransportError where Self.mayResume(after: error, deadline: deadline) {
                guard body.received > 0, resumes < maxResumes else { throw error }
                resumes += 1
                onResume(Resume(status: body.head?.status, from: file.byteCount,
                                reason: "transfer ended after \(body.received) bytes (\(error.message))"))
                continue
            }
            // A response whose body was stopped or not kept.
            guard let head = body.head else { throw TransportError(kind: .other, message: "no response", curlCode: 0) }
            switch body.acceptance {
            case .complete:
                return head
            case .startOver where resumes < maxResumes:
                resumes += 1
                try file.reset()
                onResume(Resume(status: head.status, from: 0, reason: Self.startOverReason(head, offset: offset)))
            default:
                throw HTTPStatusError(head: head, body: body.errorBody)
            }
        }
    }

    /// A cut or broken connection can be resumed; so can a stall cut by the low-speed limit while the
    /// attempt still has time (a timeout at the deadline cannot).
    static func mayResume(after error: TransportError, deadline: ContinuousClock.Instant?) -> Bool {
        switch error.kind {
        case .partial, .connection: return true
        case .timedOut: return deadline.map { ContinuousClock.now + .milliseconds(200) < $0 } ?? true
        default: return false
        }
    }

    static func startOverReason(_ head: HTTPResponseHead, offset: Int64) -> String {
        let range = head.headers["Content-Range"].map { "Content-Range '\($0)'" } ?? "no Content-Range"
        return "HTTP \(head.status) with \(range) does not continue at byte \(offset); starting over"
    }

    /// What a response's body does to the file.
    enum Acceptance: Sendable, Equatable {
        /// Continues the file at its end (a 206 from N, or a 2xx for a fresh file).
        case append
        /// Replaces the file from byte 0 (a 200 to a Range request).
        case restart
        /// The file already holds everything (416 with `Content-Range: bytes */N`, N the file's size).
        case complete
        /// The range cannot be used (a 206 starting elsewhere, a 416): drop the bytes and ask again.
        case startOver
        /// An error status.
        case reject
    }

    /// Whether a response's body continues the file, replaces it, or is an error.
    static func accepts(_ head: HTTPResponseHead, offset: Int64) -> Acceptance {
        switch head.status {
        case 206:
            return offset > 0 && contentRangeStart(head) == offset ? .append : (offset > 0 ? .startOver : .reject)
        case 200..<300:
            return offset > 0 ? .restart : .append
        case 416 where offset > 0:
            return contentRangeTotal(head) == offset ? .complete : .startOver
        default:
            return .reject
        }
    }

    /// The first byte position of `Content-Range: bytes N-M/T`.
    static func contentRangeStart(_ head: HTTPResponseHead) -> Int64? {
        guard let value = head.headers["Content-Range"], value.lowercased().hasPrefix("bytes ") else { return nil }
        let range = value.dropFirst(6)
        guard let dash = range.firstIndex(of: "-") else { return nil }
        return Int64(range[..<dash].trimmingCharacters(in: .whitespaces))
    }

    /// T in `Content-Range: bytes N-M/T` or `bytes */T`.
    static func contentRangeTotal(_ head: HTTPResponseHead) -> Int64? {
        guard let value = head.headers["Content-Range"], let slash = value.lastIndex(of: "/") else { return nil }
        return Int64(value[value.index(after: slash)...].trimmingCharacters(in: .whitespaces))
    }

    static func totalSize(_ head: HTTPResponseHead) -> Int64? {
        if head.status == 206 { return contentRangeTotal(head) }
        return head.headers["Content-Length"].flatMap { Int64($0) }
    }
}

/// A non-2xx answer (after redirects), with the start of its body for error messages.
public struct HTTPStatusError: Error, Sendable, CustomStringConvertible {
    public var head: HTTPResponseHead
    public var body: Data
    public var status: Int { head.status }
    public var description: String { "HTTP \(head.status) from \(Redaction.url(head.url))" }

    /// For callers that get a response from `CurlTransport.send` and classify it like a download's.
    public init(head: HTTPResponseHead, body: Data) {
        self.head = head
        self.body = body
    }
}

/// One response's body on its way into the staging file. Decided on the transfer thread once the head
/// is known; read by the download loop after the transfer ended.
private final class ResponseBody: @unchecked Sendable {
    /// Thrown by the sink to end a transfer whose remaining body is of no use.
    struct Stop: Error {}

    static let errorBodyLimit = 64 * 1024

    let file: StagingFile
    let offset: Int64
    let source: Source
    let progress: any ProgressReporter
    let byteLimit: Int64?
    private let lock = NSLock()
    private var decidedHead: HTTPResponseHead?
    private var decided = ResumableDownload.Acceptance.reject
    private var restartPending = false
    private var bytes: Int64 = 0
    private var error = Data()

    init(file: StagingFile, offset: Int64, source: Source, progress: any ProgressReporter, byteLimit: Int64?) {
        self.byteLimit = byteLimit
        self.file = file
        self.offset = offset
        self.source = source
        self.progress = progress
    }

    var head: HTTPResponseHead? { lock.withLock { decidedHead } }
    var acceptance: ResumableDownload.Acceptance { lock.withLock { decided } }
    /// Body bytes this response added to the file.
    var received: Int64 { lock.withLock { bytes } }
    var errorBody: Data { lock.withLock { error } }

    /// Called by the transport once the final status and headers are known.
    var destination: @Sendable (HTTPResponseHead) -> HTTPBodyDestination {
        { [self] head in
            let acceptance = ResumableDownload.accepts(head, offset: offset)
            lock.withLock {
                decidedHead = head
                decided = acceptance
                restartPending = acceptance == .restart
            }
            switch acceptance {
            case .append, .restart:
                let total = ResumableDownload.totalSize(head)
                // Too large for --max-size: refused before the first byte is kept.
                if let total {
                    do { try file.ensureFits(totalBytes: total) } catch {
                        return .stream { _ in throw error }
                    }
                }
                progress.started(source, totalBytes: total)
                return .stream(write)
            case .complete, .startOver:
                return .stream { _ in throw Stop() }
            case .reject:
                return .stream(keepErrorBody)
            }
        }
    }

    private func write(_ chunk: UnsafeRawBufferPointer) throws {
        if lock.withLock({ restartPending }) {
            try file.reset()
            lock.withLock { restartPending = false }
        }
        if let byteLimit, file.byteCount + Int64(chunk.count) > byteLimit {
            throw PkgfetchError(.integrityMismatch, "\(source.redacted): the server sent more than the expected \(byteLimit) bytes")
        }
        try file.write(chunk)
        lock.withLock { bytes += Int64(chunk.count) }
        progress.advanced(to: file.byteCount)
    }

    private func keepErrorBody(_ chunk: UnsafeRawBufferPointer) throws {
        let full = lock.withLock {
            error.append(contentsOf: chunk.prefix(Self.errorBodyLimit - error.count))
            return error.count >= Self.errorBodyLimit
        }
        if full { throw Stop() }
    }

    /// After a transfer ended normally: the head to return when the file is done, nil when the loop
    /// must look at the acceptance (start over or reject).
    func finish(_ head: HTTPResponseHead) throws -> HTTPResponseHead? {
        let (acceptance, restart) = lock.withLock { (decided, restartPending) }
        switch acceptance {
        case .append, .complete:
            return head
        case .restart:
            if restart { try file.reset() }  // an empty 200: the file is empty too
            return head
        case .startOver, .reject:
            return nil
        }
    }
}
