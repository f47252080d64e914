#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP

extension RegistryClient {
    /// Most pages `tags` follows: far more than any repository has, and an end to a registry whose
    /// `Link` never stops.
    public static let maxTagPages = 10_000

    /// Every tag of the reference's repository, as the registry lists them (`GET /v2/<name>/tags/list?n=`),
    /// following its `Link: <…>; rel="next"` pages, from the first of its hosts that may resolve
    /// (a tag list is what a tag resolves against: a pull-only mirror is not asked). A next page on another
    /// host, a page that lists nothing new, or more than `maxTagPages` pages is an error, not followed.
    public func tags(_ reference: Reference, pageSize: Int, deadline: ContinuousClock.Instant?,
                     events: EventEmitter = EventEmitter()) async throws -> [String] {
        let what = "tags of \(reference.registry)/\(reference.repository)"
        return try await firstAnswer(reference, needing: [.pull, .resolve], what: what, deadline: deadline, events: events) { host, what in
            var tags: [String] = []
            var seen: Set<String> = []
            var url = host.url(repository: reference.repository, "tags/list", query: ["n=\(pageSize)"])
            for _ in 0..<Self.maxTagPages {
                let (page, next) = try await tagPage(url, reference: reference, host: host, what: what, deadline: deadline, events: events)
                // A name that is no tag cannot be pulled (nor printed safely): passed over.
                let new = page.filter { Reference.isTag($0) && seen.insert($0).inserted }
                tags += new
                guard let next else { return tags }
                guard !page.isEmpty else { throw PkgfetchError(.orasPullFailed, "\(what): a page with nothing new links to another") }
                url = try Self.nextPage(next, after: host, what: what)
            }
            throw PkgfetchError(.orasPullFailed, "\(what): more than \(Self.maxTagPages) pages")
        }
    }

    /// One page: its tags and the `Link` target of the next one, if any.
    private func tagPage(_ url: String, reference: Reference, host: RegistryHost, what: String, deadline: ContinuousClock.Instant?,
                         events: EventEmitter) async throws -> (tags: [String], next: String?) {
        struct Page: Decodable { var tags: [String]? }
        let response = try await collect(url, accept: "application/json", for: reference, at: host, what: what, deadline: deadline,
                                         events: events)
        guard let page = try? JSONDecoder().decode(Page.self, from: response.body) else {
            throw PkgfetchError(.orasPullFailed, "\(what): the tag list is not JSON with a 'tags' list")
        }
        return (page.tags ?? [], response.headers["Link"].flatMap(Self.nextLink))
    }

    /// The target of `rel="next"` in a `Link` header (RFC 8288): `<url>; rel="next"`.
    static func nextLink(_ header: String) -> String? {
        for link in header.split(separator: ",") {
            let parts = link.split(separator: ";").map { $0.trimmingWhitespace }
            guard let target = parts.first, target.hasPrefix("<"), target.hasSuffix(">"), target.count > 2 else { continue }
            let isNext = parts.dropFirst().contains { parameter in
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingWhitespace }
                return pair.count == 2 && pair[0].lowercased() == "rel"
                    && pair[1].trimming(while: { $0 == "\"" }).split(separator: " ").contains("next")
            }
            if isNext { return String(target.dropFirst().dropLast()) }
        }
        return nil
    }

    /// The next page's URL on `host`: a path is taken on the host (with `ns=` for a mirror); an absolute
    /// URL must be on the host itself, so the host's authorization never goes elsewhere.
    static func nextPage(_ link: String, after host: RegistryHost, what: String) throws -> String {
        var url: String
        if link.hasPrefix("/"), !link.hasPrefix("//") {
            url = host.origin + link
        } else if link.lowercased().hasPrefix(host.origin.lowercased() + "/") {
            url = link
        } else {
            throw PkgfetchError(.orasPullFailed, "\(what): the next page is on another host (\(Redaction.url(link))); not followed")
        }
        if host.isMirror, !url.contains("ns=") {
            url += (url.contains("?") ? "&" : "?") + "ns=\(TokenService.queryEncode(host.namespace))"
        }
        return url
    }
}
