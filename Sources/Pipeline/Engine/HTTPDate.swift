#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An HTTP date (RFC 9110 §5.6.7) read from a header's bytes: the IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms a recipient must still accept,
/// rfc850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
///
/// Parsed on bytes because the value comes from a server: Foundation's `DateFormatter` traps on some
/// byte sequences (`Retry-After: Wed, 21\xd6\xb0\x9c\x8b 20…` ended the process with SIGILL).
/// Anything that is not exactly one of the three forms, or names a day that does not exist, is nil.
package enum HTTPDate {
    /// The instant `text` names (surrounding spaces and tabs allowed); nil when it is no HTTP date.
    /// `now` places an rfc850 two-digit year: the most recent year with those digits that is not
    /// more than 50 years ahead of it.
    package static func parse(_ text: some StringProtocol, now: Date = Date()) -> Date? {
        var bytes = Array(text.utf8)[...]
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes.removeFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
        let reader = ByteReader(bytes: bytes)
        return (fixdate(reader) ?? rfc850(reader, now: now) ?? asctime(reader))?.instant
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT`
    private static func fixdate(_ reader: ByteReader) -> Fields? {
        var r = reader
        guard r.word(in: shortDays) != nil, r.literal(", "), let day = r.digits(2), r.literal(" "),
              let month = r.word(in: months), r.literal(" "), let year = r.digits(4), r.literal(" "),
              let time = r.time(), r.literal(" GMT"), r.atEnd else { return nil }
        return Fields(year: year, month: month + 1, day: day, time: time)
    }

    /// `Sunday, 06-Nov-94 08:49:37 GMT`
    private static func rfc850(_ reader: ByteReader, now: Date) -> Fields? {
        var r = reader
        guard r.word(in: longDays) != nil, r.literal(", "), let day = r.digits(2), r.literal("-"),
              let month = r.word(in: months), r.literal("-"), let twoDigits = r.digits(2), r.literal(" "),
              let time = r.time(), r.literal(" GMT"), r.atEnd else { return nil }
        let thisYear = Fields.year(of: now)
        var year = thisYear - thisYear % 100 + twoDigits
        if year > thisYear + 50 { year -= 100 }
        return Fields(year: year, month: month + 1, day: day, time: time)
    }

    /// `Sun Nov  6 08:49:37 1994` (a one-digit day is preceded by a space).
    private static func asctime(_ reader: ByteReader) -> Fields? {
        var r = reader
        guard r.word(in: shortDays) != nil, r.literal(" "), let month = r.word(in: months), r.literal(" ") else { return nil }
        let day: Int?
        if r.literal(" ") { day = r.digits(1) } else { day = r.digits(2) }
        guard let day, r.literal(" "), let time = r.time(), r.literal(" "), let year = r.digits(4), r.atEnd else { return nil }
        return Fields(year: year, month: month + 1, day: day, time: time)
    }

    private static let shortDays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map { Array($0.utf8) }
    private static let longDays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"].map { Array($0.utf8) }
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].map { Array($0.utf8) }

    /// A civil date and time in GMT, checked before it is turned into an instant.
    private struct Fields {
        var year: Int, month: Int, day: Int
        var time: (hour: Int, minute: Int, second: Int)

        var instant: Date? {
            guard (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day),
                  time.hour < 24, time.minute < 60, time.second <= 60 else { return nil }
            let seconds = Self.daysSince1970(year: year, month: month, day: day) * 86_400
                + time.hour * 3600 + time.minute * 60 + time.second
            return Date(timeIntervalSince1970: TimeInterval(seconds))
        }

        static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

        static func daysIn(month: Int, year: Int) -> Int {
            switch month {
            case 2: isLeap(year) ? 29 : 28
            case 4, 6, 9, 11: 30
            default: 31
            }
        }

        /// Days from 1970-01-01 to the date (Howard Hinnant's `days_from_civil`), for years 0–9999.
        static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
            let y = month <= 2 ? year - 1 : year
            let era = (y >= 0 ? y : y - 399) / 400
            let yearOfEra = y - era * 400
            let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            return era * 146_097 + dayOfEra - 719_468
        }

        /// The GMT year of an instant (inverse of `daysSince1970`, year part only).
        static func year(of date: Date) -> Int {
            let days = Int((date.timeIntervalSince1970 / 86_400).rounded(.down)) + 719_468
            let era = (days >= 0 ? days : days - 146_096) / 146_097
            let dayOfEra = days - era * 146_097
            let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
            let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
            let monthIndex = (5 * dayOfYear + 2) / 153
            return yearOfEra + era * 400 + (monthIndex >= 10 ? 1 : 0)
        }
    }

    /// Reads fixed-width fields from the front of a byte slice; each read consumes only on success.
    private struct ByteReader {
        var bytes: ArraySlice<UInt8>

        var atEnd: Bool { bytes.isEmpty }

        mutating func literal(_ text: String) -> Bool {
            let expected = Array(text.utf8)
            guard bytes.starts(with: expected) else { return false }
            bytes.removeFirst(expected.count)
            return true
        }

        /// The index in `words` of the word the bytes start with (exact case, as RFC 9110 requires).
        mutating func word(in words: [[UInt8]]) -> Int? {
            guard let index = words.firstIndex(where: { bytes.starts(with: $0) }) else { return nil }
            bytes.removeFirst(words[index].count)
            return index
        }

        /// Exactly `count` ASCII digits.
        mutating func digits(_ count: Int) -> Int? {
            guard bytes.count >= count else { return nil }
            var value = 0
            for byte in bytes.prefix(count) {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            bytes.removeFirst(count)
            return value
        }

        /// `HH:MM:SS`
        mutating func time() -> (hour: Int, minute: Int, second: Int)? {
            var r = self
            guard let hour = r.digits(2), r.literal(":"), let minute = r.digits(2), r.literal(":"),
                  let second = r.digits(2) else { return nil }
            self = r
            return (hour, minute, second)
        }
    }
}
