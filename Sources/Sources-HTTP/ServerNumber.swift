#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A number a server sent — a token's `expires_in` or `exp`, a `Retry-After` — read into a range
/// before any arithmetic: it is never trusted to fit (`Int64(1e300 * 1000)` traps).
public enum ServerNumber {
    /// A JSON value (number, or a string holding one, as IMDS sends `expires_in`) as a finite
    /// Double; nil for anything else, `NaN` and infinities included.
    public static func finite(_ value: Any?) -> Double? {
        let number: Double?
        switch value {
        case let text as String: number = Double(text.trimmingWhitespace)
        case let exact as Int: number = Double(exact)
        case let real as Double: number = real
        default: number = nil
        }
        guard let number, number.isFinite else { return nil }
        return number
    }

    /// `value` rounded down and clamped into `range`; nil when it is not a finite number.
    public static func clamped(_ value: Double, to range: ClosedRange<Int>) -> Int? {
        guard value.isFinite else { return nil }
        if value <= Double(range.lowerBound) { return range.lowerBound }
        if value >= Double(range.upperBound) { return range.upperBound }
        return Int(value.rounded(.down))
    }

    /// A JSON value in seconds, clamped into `range`; nil when it is not a finite number.
    public static func seconds(_ value: Any?, in range: ClosedRange<Int>) -> Duration? {
        finite(value).flatMap { clamped($0, to: range) }.map { .seconds($0) }
    }
}
