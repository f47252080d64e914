#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// Opens an HTTP GET as a `FetchedStream`: returns once the final response head is known (after
/// redirects), while the body waits on libcurl's thread for the runner to take it. A range is asked with
/// `Range: bytes=N-` or, for one segment of a download over several connections, `bytes=N-M` (and
/// `If-Range`, so that a changed file comes back whole, as a 200); the stream says where the answer
/// really starts and, for a bounded range, how long it is. A non-2xx answer throws `HTTPStatusError` with the start of its body.
public enum HTTPStream {
    /// Error bodies are kept up to this size for messages; the rest is not read.
    static let errorBodyLimit = 64 * 1024

    /// Sends `request` (a GET) from `offset` (for `length` bytes; nil: to the end); `ifRange` is the
    /// validator the other bytes have.
    /// Failures while the body streams are classified by `classification` as being about `what`;
    /// failures before the head (`HTTPStatusError`, `TransportError`) are thrown as they are.
    public static func open(_ request: HTTPRequest, offset: Int64, length: Int64? = nil, ifRange: Validator?,
                            transport: CurlTransport, classification: FailureClassification,
                            what: String) async throws -> (head: HTTPResponseHead, stream: FetchedStream) {
        var request = request
        if offset > 0 || length != nil {
            request.headers.set("Range", "bytes=\(offset)-\(length.map { String(offset + max(1, $0) - 1) } ?? "")")
            switch ifRange {
            case .entityTag(let tag): request.headers.set("If-Range", tag)
            case .lastModified(let date): request.headers.set("If-Range", date)
            default: break
            }
        }
        let response = PendingResponse(offset: offset)
        let transfer = Task {
            do {
                let answer = try await transport.send(request, destination: response.destination)
                response.ended(nil)
                return answer
            } catch {
                response.ended(error)
                throw error
            }
        }
        let head = try await withTaskCancellationHandler {
            try await response.head()
        } onCancel: {
            transfer.cancel()
        }
        let answer = answer(to: head, offset: offset)
        let body = FetchedBody.writer(onCancel: {
            response.abandon()
            transfer.cancel()
        }) { sink in
            response.attach(sink)
            do {
                _ = try await withTaskCancellationHandler { try await transfer.value } onCancel: { transfer.cancel() }
            } catch is StopReading {
                // A 416 whose body was not worth reading: nothing was wanted from it.
            } catch let failure as TransportError {
                // The transport's own failures are classified; a sink's errors pass as they are.
                throw classification.error(for: failure, what: what)
            } catch is CancellationError {
                throw classification.error(for: CancellationError(), what: what)
            }
        }
        // An answer to If-Range that kept the range is of the version asked, even without a validator of its own.
        let version = validator(of: head) ?? (head.status == 206 || head.status == 416 ? ifRange : nil)
        var stream = FetchedStream(offset: answer.offset, size: answer.size, validator: version, status: head.status, body: body)
        stream.length = head.status == 206 ? contentRangeLength(head) : nil
        stream.acceptsRanges = head.status == 206 || head.headers["Accept-Ranges"]?.lowercased().contains("bytes") == true
        return (head, stream)
    }

    /// Where an answer starts and how large the whole content is. A 416 means the range starts at or
    /// past the end: the content is complete at `offset` if the server says its size is `offset`.
    static func answer(to head: HTTPResponseHead, offset: Int64) -> (offset: Int64, size: Int64?) {
        switch head.status {
        case 206:
            // No usable Content-Range: -1, which the runner takes as "not where asked" and starts over.
            return (contentRangeStart(head) ?? -1, contentRangeTotal(head))
        case 416:
            // Without a size, 0: fewer bytes than staged, so the runner starts over.
            return (offset, contentRangeTotal(head) ?? 0)
        default:
            return (0, head.headers["Content-Length"].flatMap { Int64($0) })
        }
    }

    /// The answer's strong validator (`Validator.strong`): what `If-Range` can send back, and what
    /// resuming or taking ranges rests on. Weak or none: the content is taken in one stream.
    public static func validator(of head: HTTPResponseHead) -> Validator? {
        Validator.strong(entityTag: head.headers["ETag"], lastModified: head.headers["Last-Modified"],
                         date: head.headers["Date"])
    }

    /// The first byte position of `Content-Range: bytes N-M/T`.
    static func contentRangeStart(_ head: HTTPResponseHead) -> Int64? {
        guard let value = head.headers["Content-Range"], value.lowercased().hasPrefix("bytes ") else { return nil }
        let range = value.dropFirst(6)
        guard let dash = range.firstIndex(of: "-") else { return nil }
        return Int64(range[..<dash].trimmingWhitespace)
    }

    /// M - N + 1 in `Content-Range: bytes N-M/T`: the bytes a 206 holds.
    static func contentRangeLength(_ head: HTTPResponseHead) -> Int64? {
        guard let start = contentRangeStart(head), let value = head.headers["Content-Range"],
              let dash = value.firstIndex(of: "-"), let slash = value.lastIndex(of: "/"), dash < slash,
              let end = Int64(value[value.index(after: dash)..<slash].trimmingWhitespace), end >= start
        else { return nil }
        return end - start + 1
    }

    /// T in `Content-Range: bytes N-M/T` or `bytes */T`.
    static func contentRangeTotal(_ head: HTTPResponseHead) -> Int64? {
        guard let value = head.headers["Content-Range"], let slash = value.lastIndex(of: "/") else { return nil }
        return Int64(value[value.index(after: slash)...].trimmingWhitespace)
    }

    /// Thrown by a body sink to stop reading a body nobody wants.
    struct StopReading: Error {}
}

/// A GET whose head has arrived but whose body waits, on libcurl's thread, for the runner's sink (or
/// to be abandoned). One response; the head is awaited once.
private final class PendingResponse: @unchecked Sendable {
    private let offset: Int64
    private let condition = Condition()
    private var waiter: CheckedContinuation<HTTPResponseHead, any Error>?
    private var head: HTTPResponseHead?
    private var rejected = false
    private var errorBody = Data()
    private var ending: (any Error)??
    private var delivered = false
    private var sink: (any ByteSink)?
    private var abandoned = false
    /// The sink, once taken: read and written on libcurl's thread only, so writes take no lock.
    private var taken: (any ByteSink)?

    init(offset: Int64) { self.offset = offset }

    /// Called by the transport once the final head is known: a usable answer's body goes to the sink,
    /// an error's start is kept for the message.
    var destination: @Sendable (HTTPResponseHead) -> HTTPBodyDestination {
        { [self] head in
            // 416: the range starts at or past the end (the file may be complete); only to a range request.
            let usable = (200..<300).contains(head.status) || (head.status == 416 && offset > 0)
            condition.withLock {
                self.head = head
                rejected = !usable
            }
            if usable { deliverHead() }
            if head.status == 416 { return .stream { _ in throw HTTPStream.StopReading() } }
            if usable { return .stream { chunk in try self.write(chunk) } }
            return .stream { chunk in try self.keepErrorBody(chunk) }
        }
    }

    /// Waits for the head of a usable answer; throws the answer's `HTTPStatusError`, or the transfer's error.
    func head() async throws -> HTTPResponseHead {
        try await withCheckedThrowingContinuation { continuation in
            condition.withLock { waiter = continuation }
            deliverHead()
        }
    }

    /// Resumes the waiter once there is something to tell it.
    private func deliverHead() {
        let resumption: (CheckedContinuation<HTTPResponseHead, any Error>, Result<HTTPResponseHead, any Error>)? = condition.withLock {
            guard let waiter, !delivered else { return nil }
            let result: Result<HTTPResponseHead, any Error>
            if let head, !rejected {
                result = .success(head)
            } else if let ending {
                if let head, rejected {
                    result = .failure(HTTPStatusError(head: head, body: errorBody))
                } else {
                    result = .failure(ending ?? TransportError(kind: .other, message: "no response", curlCode: 0))
                }
            } else {
                return nil
            }
            delivered = true
            return (waiter, result)
        }
        if let (waiter, result) = resumption { waiter.resume(with: result) }
    }

    /// The transfer ended (nil: normally).
    func ended(_ error: (any Error)?) {
        condition.withLock { ending = .some(error) }
        deliverHead()
    }

    func attach(_ sink: any ByteSink) {
        condition.withLock {
            self.sink = sink
            condition.broadcast()
        }
    }

    func abandon() {
        condition.withLock {
            abandoned = true
            condition.broadcast()
        }
    }

    /// On libcurl's thread: waits (once) for the runner to take the body, then writes into its sink.
    private func write(_ chunk: UnsafeRawBufferPointer) throws {
        if let taken { return try taken.write(chunk) }
        let target: (any ByteSink)? = condition.withLock {
            while sink == nil, !abandoned { condition.wait() }
            return abandoned ? nil : sink
        }
        guard let target else { throw HTTPStream.StopReading() }
        taken = target
        try target.write(chunk)
    }

    private func keepErrorBody(_ chunk: UnsafeRawBufferPointer) throws {
        let full = condition.withLock {
            errorBody.append(contentsOf: chunk.prefix(HTTPStream.errorBodyLimit - errorBody.count))
            return errorBody.count >= HTTPStream.errorBodyLimit
        }
        if full { throw HTTPStream.StopReading() }
    }
}
