#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Validator {
    /// The validator of an HTTP answer that names one exact sequence of bytes (RFC 9110 §8.8.1), the
    /// only kind `If-Range` may carry (§13.1.5) and so the only kind that may join bytes of two answers
    /// (a resume, or ranges over several connections):
    /// - an `ETag` without the `W/` mark (a weak tag only promises equivalent content);
    /// - else, when the answer has no `ETag` at all, a `Last-Modified` at least a second older than the
    ///   answer's `Date`: a file changed within the second it was served keeps its date (§8.8.2.2).
    /// Nil when the answer has neither: its bytes are taken in one stream, never spliced.
    public static func strong(entityTag: String?, lastModified: String?, date: String?) -> Validator? {
        if let entityTag {
            return isStrongEntityTag(entityTag) ? .entityTag(entityTag) : nil
        }
        guard let lastModified, let modified = HTTPDate.parse(lastModified),
              let date, let served = HTTPDate.parse(date),
              served.timeIntervalSince(modified) >= 1 else { return nil }
        return .lastModified(lastModified)
    }

    /// `"…"`: an opaque tag with no `W/` (weak) mark.
    public static func isStrongEntityTag(_ tag: String) -> Bool {
        tag.utf8.count >= 2 && tag.utf8.first == UInt8(ascii: "\"") && tag.utf8.last == UInt8(ascii: "\"")
    }
}
