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

    /// Fetches `url` into `file`, continuing from `file.byteCount` if it already holds a prefix.
    /// Returns the final response head; throws `HTTPStatusError` for a non-2xx answer, or `TransportError`.
    @discardableResult
    public func run(url: String, headers: HTTPHeaders = HTTPHeaders(), into file: StagingFile,
                    deadline: ContinuousClock.Instant?, source: Source,
                    progress: any ProgressReporter = SilentProgress()) async throws -> HTTPResponseHead {
        var resumes = 0
        progress.started(source, totalBytes: nil)
        defer { progress.finished() }
        while true {
            let offset = file.byteCount
            var requestHeaders = headers
            if offset > 0 { requestHeaders.set("Range", "bytes=\(offset)-") }
            let request = HTTPRequest(url: url, headers: requestHeaders, deadline: deadline, stallTimeout: stallTimeout)
            let plan = BodyPlan()
            do {
                let response = try await transport.send(request) { head in
                    let accepted = Self.accepts(head, offset: offset)
                    plan.set(accepted)
                    switch accepted {
                    case .append, .restart:
                        progress.started(source, totalBytes: Self.totalSize(head, offset: offset))
                        let restart = accepted == .restart
                        return .stream(RestartingSink(file: file, restart: restart, progress: progress).write)
                    case .reject:
                        return .collect(limit: 64 * 1024)
                    }
                }
                switch plan.value {
                case .append, .restart:
                    if plan.value == .restart, response.streamedBytes == 0 { try file.reset() }  // an empty 200
                    return response.head
                case .reject:
                    if offset > 0, response.status == 416 || response.status == 206 {
                        // The server cannot continue from N (or answered with the wrong range): start over.
                        try file.reset()
                        resumes += 1
                        if resumes <= maxResumes { continue }
                    }
                    throw HTTPStatusError(head: response.head, body: response.body)
                }
            } catch let error as TransportError where error.kind == .partial || error.kind == .connection {
                guard file.byteCount > offset, resumes < maxResumes else { throw error }
                resumes += 1
            }
        }
    }

    enum Acceptance: Sendable { case append, restart, reject }

    /// Whether a response's body continues the file (206 from N), replaces it (2xx), or is an error.
    static func accepts(_ head: HTTPResponseHead, offset: Int64) -> Acceptance {
        if head.status == 206 {
            return offset > 0 && contentRangeStart(head) == offset ? .append : .reject
        }
        if (200..<300).contains(head.status) { return offset > 0 ? .restart : .append }
        return .reject
    }

    /// The first byte position of `Content-Range: bytes N-M/T`.
    static func contentRangeStart(_ head: HTTPResponseHead) -> Int64? {
        guard let value = head.headers["Content-Range"], value.lowercased().hasPrefix("bytes ") else { return nil }
        let range = value.dropFirst(6)
        guard let dash = range.firstIndex(of: "-") else { return nil }
        return Int64(range[..<dash].trimmingCharacters(in: .whitespaces))
    }

    static func totalSize(_ head: HTTPResponseHead, offset: Int64) -> Int64? {
        if head.status == 206, let value = head.headers["Content-Range"], let slash = value.lastIndex(of: "/") {
            return Int64(value[value.index(after: slash)...])
        }
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

/// What the response's body is going to do to the file, decided on the transfer thread.
private final class BodyPlan: @unchecked Sendable {
    private let lock = NSLock()
    private var decided: ResumableDownload.Acceptance = .reject
    func set(_ value: ResumableDownload.Acceptance) { lock.withLock { decided = value } }
    var value: ResumableDownload.Acceptance { lock.withLock { decided } }
}

/// Writes chunks to the staging file, truncating it first when the server restarted from byte 0.
private final class RestartingSink: @unchecked Sendable {
    let file: StagingFile
    var restart: Bool
    let progress: any ProgressReporter

    init(file: StagingFile, restart: Bool, progress: any ProgressReporter) {
        self.file = file
        self.restart = restart
        self.progress = progress
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if restart {
            try file.reset()
            restart = false
        }
        try file.write(bytes)
        progress.advanced(to: file.byteCount)
    }
}
