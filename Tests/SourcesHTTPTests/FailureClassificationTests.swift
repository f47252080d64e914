import Foundation
import Pipeline
@testable import SourcesHTTP
import Testing

/// Which failures are retried, which exit code they map to, and how long a server asks us to wait.
@Suite struct FailureClassificationTests {
    func statusError(_ status: Int, retryAfter: String? = nil) -> HTTPStatusError {
        var headers = HTTPHeaders()
        if let retryAfter { headers.add("Retry-After", retryAfter) }
        return HTTPStatusError(head: HTTPResponseHead(status: status, headers: headers, url: "https://cdn/x.zip?sig=1"), body: Data())
    }

    func classify(_ error: any Error) -> PkgfetchError {
        FailureClassification.http.error(for: error, what: "https://cdn/x.zip")
    }

    @Test(arguments: [408, 429, 500, 502, 503, 504])
    func transientStatusesAreRetried(status: Int) {
        let failure = classify(statusError(status))
        #expect(failure.kind == .httpDownloadFailed)
        #expect(failure.retryable)
        #expect(failure.status == status)
    }

    @Test(arguments: [404, 410])
    func notFoundExits21AtOnce(status: Int) {
        let failure = classify(statusError(status))
        #expect(failure.kind == .httpNotFound)
        #expect(!failure.retryable)
    }

    @Test(arguments: [400, 401, 403, 405, 416, 451, 501])
    func otherClientErrorsAreNotRetried(status: Int) {
        let failure = classify(statusError(status))
        #expect(failure.kind == .httpDownloadFailed)
        #expect(!failure.retryable)
    }

    @Test func retryAfterIsTakenFrom429And503Only() {
        #expect(classify(statusError(429, retryAfter: "3")).retryAfter == .seconds(3))
        #expect(classify(statusError(503, retryAfter: "1")).retryAfter == .seconds(1))
        #expect(classify(statusError(500, retryAfter: "1")).retryAfter == nil)
    }

    @Test func retryAfterAsAnHTTPDate() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let started = ContinuousClock.now
        let date = formatter.string(from: Date().addingTimeInterval(30))
        let wait = try #require(statusError(503, retryAfter: date).head.retryAfter)
        // 30 s ahead, less the fraction of a second the date drops (and a second of slack) and the time
        // it took to read it (seconds, when a loaded machine holds this thread back).
        let took = started.duration(to: .now)
        #expect(wait > .seconds(28) - took && wait <= .seconds(30), "\(wait) after \(took)")
        #expect(statusError(503, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT").head.retryAfter == .zero)
        #expect(statusError(503, retryAfter: "soon").head.retryAfter == nil)
    }

    /// The header `make fuzz` found (Foundation's DateFormatter trapped on it), as the transport decodes
    /// it, and the obsolete date forms a server may still send.
    @Test func retryAfterOfHostileBytesIsNoneAndObsoleteFormsAreRead() throws {
        let found: [UInt8] = Array("Wed, 21".utf8) + [0xD6, 0xB0, 0x9C, 0x8B] + Array(" 20".utf8) + [0xF6, 0xF6, 0xF6, 0xF6] + Array("429".utf8)
        #expect(statusError(503, retryAfter: String(decoding: found, as: UTF8.self)).head.retryAfter == nil)
        #expect(classify(statusError(503, retryAfter: String(decoding: found, as: UTF8.self))).retryAfter == nil)
        #expect(statusError(503, retryAfter: "Wednesday, 21-Oct-15 07:28:00 GMT").head.retryAfter == .zero)
        #expect(statusError(503, retryAfter: "Wed Oct 21 07:28:00 2015").head.retryAfter == .zero)
    }

    /// A server's Retry-After is clamped to a day, however far away it points (no trap, no week-long wait).
    @Test func retryAfterIsClamped() throws {
        let day = Duration.seconds(86_400)
        #expect(statusError(503, retryAfter: "9223372036854775807").head.retryAfter == day)
        #expect(statusError(503, retryAfter: "604800").head.retryAfter == day)
        #expect(statusError(503, retryAfter: "-5").head.retryAfter == .zero)
        #expect(statusError(503, retryAfter: "99999999999999999999999").head.retryAfter == nil)
        for far in ["Fri, 31 Dec 9999 23:59:59 GMT", "Sun, 31 Dec 99999999 23:59:59 GMT", "Tue, 31 Dec 292277026596 23:59:59 GMT"] {
            let wait = statusError(503, retryAfter: far).head.retryAfter
            #expect(wait == nil || wait == day, "\(far): \(String(describing: wait))")
        }
    }

    @Test func transportFailures() {
        let timeout = classify(TransportError(kind: .timedOut, message: "Operation timed out", curlCode: 28))
        #expect(timeout.kind == .networkTimeout && timeout.retryable)
        let cut = classify(TransportError(kind: .partial, message: "transfer closed", curlCode: 18))
        #expect(cut.kind == .httpDownloadFailed && cut.retryable)
        let tls = classify(TransportError(kind: .tls, message: "certificate problem", curlCode: 60))
        #expect(tls.kind == .httpDownloadFailed && !tls.retryable)
    }

    @Test func messagesCarryNoQueryString() {
        let failure = classify(statusError(403))
        #expect(!failure.message.contains("sig="))
        #expect(!statusError(403).description.contains("sig="))
    }

    @Test func upperCaseHTTPProxyIsUsedOutsideCGI() {
        func proxy(_ url: String, _ environment: [String: String]) -> String? {
            ProxyEnvironment.explicitProxy(for: url) { environment[$0] }
        }
        #expect(proxy("http://cdn/x.zip", ["HTTP_PROXY": "http://proxy:3128"]) == "http://proxy:3128")
        // libcurl handles these itself: the lower-case name, and every https:// proxy variable.
        #expect(proxy("http://cdn/x.zip", ["HTTP_PROXY": "http://a", "http_proxy": "http://b"]) == nil)
        #expect(proxy("https://cdn/x.zip", ["HTTP_PROXY": "http://a"]) == nil)
        // In a CGI program HTTP_PROXY may come from a request header ("httpoxy").
        #expect(proxy("http://cdn/x.zip", ["HTTP_PROXY": "http://a", "REQUEST_METHOD": "GET"]) == nil)
        #expect(proxy("http://cdn/x.zip", [:]) == nil)
    }
}
