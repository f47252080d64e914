/// The few text edits pkgfetch took from Foundation's `NSString` API (trimming, padding), which on
/// Linux would link all of Foundation and its ICU data into the binary.
extension StringProtocol {
    /// The text without the leading and trailing characters for which `isTrimmed` holds.
    package func trimming(while isTrimmed: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !isTrimmed($0) }), let last = lastIndex(where: { !isTrimmed($0) }) else { return "" }
        return String(self[first...last])
    }

    /// The text without leading and trailing whitespace (spaces, tabs, line ends).
    package var trimmingWhitespace: String { trimming(while: \.isWhitespace) }

    /// The text cut or padded with spaces to `length` characters: a table's column.
    package func padded(toLength length: Int) -> String {
        count >= length ? String(prefix(length)) : String(self) + String(repeating: " ", count: length - count)
    }
}
