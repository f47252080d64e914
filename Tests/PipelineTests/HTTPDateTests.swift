import Foundation
import Pipeline
import Testing

/// HTTP dates read on bytes (RFC 9110 §5.6.7), and the strong-validator rule (§8.8.1) that rests on them.
@Suite struct HTTPDateTests {
    /// 1994-11-06 08:49:37 GMT, RFC 9110's example instant.
    static let example = Date(timeIntervalSince1970: 784_111_777)

    @Test func theThreeFormsOfRFC9110ReadAsTheSameInstant() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == Self.example)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: Date(timeIntervalSince1970: 1_800_000_000)) == Self.example)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == Self.example)
        #expect(HTTPDate.parse("  Sun, 06 Nov 1994 08:49:37 GMT\t") == Self.example)
    }

    @Test func datesAcrossTheCalendarAreExact() {
        #expect(HTTPDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == Date(timeIntervalSince1970: 0))
        #expect(HTTPDate.parse("Tue, 29 Feb 2000 23:59:59 GMT") == Date(timeIntervalSince1970: 951_868_799))
        #expect(HTTPDate.parse("Wed, 21 Oct 2015 07:28:00 GMT") == Date(timeIntervalSince1970: 1_445_412_480))
        #expect(HTTPDate.parse("Fri, 31 Dec 9999 23:59:59 GMT") == Date(timeIntervalSince1970: 253_402_300_799))
        // A leap second is a valid second field.
        #expect(HTTPDate.parse("Sat, 31 Dec 2016 23:59:60 GMT") == Date(timeIntervalSince1970: 1_483_228_800))
    }

    /// rfc850's two-digit year is the latest year with those digits not more than 50 years ahead.
    @Test func anRFC850YearIsPlacedNearNow() {
        let in2026 = Date(timeIntervalSince1970: 1_796_000_000)
        #expect(HTTPDate.parse("Wednesday, 01-Jan-70 00:00:00 GMT", now: in2026) == Date(timeIntervalSince1970: 3_155_760_000))
        #expect(HTTPDate.parse("Saturday, 01-Jan-50 00:00:00 GMT", now: in2026) == Date(timeIntervalSince1970: 2_524_608_000))
        #expect(HTTPDate.parse("Saturday, 01-Jan-77 00:00:00 GMT", now: in2026) == Date(timeIntervalSince1970: 220_924_800))
    }

    @Test(arguments: [
        "", "GMT", "0", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 GMT x",
        "sun, 06 Nov 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 29 Feb 1900 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 19944 08:49:37 GMT", "Sun, 06 Nov -994 08:49:37 GMT", "Sun, +6 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Sun Nov  6 08:49:37 1994 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT\u{0}", "Sun, ٠٦ Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 G\u{301}MT",
    ])
    func anythingElseIsNoDate(text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    /// The bytes `make fuzz` found (Foundation's DateFormatter trapped on them), and other bytes that
    /// are not UTF-8, as a header line decoded by the transport: no date, no crash.
    @Test func hostileBytesAreNoDate() {
        let found: [UInt8] = Array("Wed, 21".utf8) + [0xD6, 0xB0, 0x9C, 0x8B] + Array(" 20".utf8) + [0xF6, 0xF6, 0xF6, 0xF6] + Array("429".utf8)
        #expect(HTTPDate.parse(String(decoding: found, as: UTF8.self)) == nil)
        var generator = SeededBytes(seed: 26)
        let pieces: [[UInt8]] = [Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8), [0xD6, 0xB0], [0x9C], [0xCC, 0x81], [0xF6], [0x20], [0x2D], [0x3A]]
        for _ in 0..<5000 {
            var bytes: [UInt8] = []
            for _ in 0..<generator.next(upTo: 6) { bytes += pieces[generator.next(upTo: pieces.count)] }
            let text = String(decoding: bytes, as: UTF8.self)
            if let date = HTTPDate.parse(text) { #expect(date == Self.example, "\(bytes)") }
        }
    }

    @Test func aStrongValidatorIsAnUnmarkedETagOrAnOldEnoughLastModified() {
        let served = "Sun, 06 Nov 1994 08:49:38 GMT"
        #expect(Validator.strong(entityTag: "\"v1\"", lastModified: nil, date: nil) == .entityTag("\"v1\""))
        #expect(Validator.strong(entityTag: "W/\"v1\"", lastModified: nil, date: served) == nil)
        // Any ETag, weak included, rules out the date (RFC 9110 §13.1.5).
        #expect(Validator.strong(entityTag: "W/\"v1\"", lastModified: "Sun, 06 Nov 1994 08:49:30 GMT", date: served) == nil)
        #expect(Validator.strong(entityTag: "v1", lastModified: nil, date: nil) == nil)
        #expect(Validator.strong(entityTag: "\"", lastModified: nil, date: nil) == nil)
        // A second older than the answer's Date: strong. The same second, later, no Date, no date: weak.
        #expect(Validator.strong(entityTag: nil, lastModified: "Sun, 06 Nov 1994 08:49:37 GMT", date: served)
                == .lastModified("Sun, 06 Nov 1994 08:49:37 GMT"))
        #expect(Validator.strong(entityTag: nil, lastModified: served, date: served) == nil)
        #expect(Validator.strong(entityTag: nil, lastModified: "Sun, 06 Nov 1994 08:49:39 GMT", date: served) == nil)
        #expect(Validator.strong(entityTag: nil, lastModified: "Sun, 06 Nov 1994 08:49:37 GMT", date: nil) == nil)
        #expect(Validator.strong(entityTag: nil, lastModified: "yesterday", date: served) == nil)
        #expect(Validator.strong(entityTag: nil, lastModified: "Sun, 06 Nov 1994 08:49:37 GMT", date: "now") == nil)
    }
}

/// A small deterministic generator (xorshift), so a failure names bytes that come back on the next run.
struct SeededBytes {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next(upTo bound: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % UInt64(bound))
    }
}
