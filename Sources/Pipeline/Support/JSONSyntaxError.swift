#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where a JSON text first breaks the grammar, as line and column (both from 1), found on the bytes:
/// Foundation's decoder says only that the data is not valid JSON.
public struct JSONSyntaxError: Equatable, Sendable, CustomStringConvertible {
    /// The line of the first byte that does not fit, from 1.
    public let line: Int
    /// Its column on that line, in characters, from 1.
    public let column: Int
    /// What was expected there.
    public let expected: String

    /// `line 3, column 14: expected "," or "}"`.
    public var description: String { "line \(line), column \(column): expected \(expected)" }

    /// The first syntax error in `bytes`, or nil when they are one well-formed JSON value (RFC 8259)
    /// with nothing but white space after it. Nesting deeper than `maxDepth` counts as an error.
    public static func find(in bytes: some Collection<UInt8>, maxDepth: Int = 512) -> JSONSyntaxError? {
        var scanner = Scanner(bytes: Array(bytes), maxDepth: maxDepth)
        return scanner.document()
    }

    private struct Scanner {
        let bytes: [UInt8]
        let maxDepth: Int
        var index = 0
        var depth = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        mutating func document() -> JSONSyntaxError? {
            if let error = value() { return error }
            skipSpace()
            return index < bytes.count ? failure("the end of the text") : nil
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        mutating func value() -> JSONSyntaxError? {
            skipSpace()
            switch current {
            case UInt8(ascii: "{"): return container(close: UInt8(ascii: "}"), keyed: true)
            case UInt8(ascii: "["): return container(close: UInt8(ascii: "]"), keyed: false)
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            case let byte? where byte == UInt8(ascii: "-") || (byte >= 0x30 && byte <= 0x39): return number()
            default: return failure("a value")
            }
        }

        mutating func container(close: UInt8, keyed: Bool) -> JSONSyntaxError? {
            depth += 1
            guard depth <= maxDepth else { return failure("at most \(maxDepth) levels of nesting") }
            index += 1
            skipSpace()
            if current == close { index += 1; depth -= 1; return nil }
            while true {
                if keyed {
                    skipSpace()
                    guard current == UInt8(ascii: "\"") else { return failure("a field name in quotes") }
                    if let error = string() { return error }
                    skipSpace()
                    guard current == UInt8(ascii: ":") else { return failure("\":\"") }
                    index += 1
                }
                if let error = value() { return error }
                skipSpace()
                if current == UInt8(ascii: ",") { index += 1; continue }
                if current == close { index += 1; depth -= 1; return nil }
                return failure(keyed ? "\",\" or \"}\"" : "\",\" or \"]\"")
            }
        }

        mutating func string() -> JSONSyntaxError? {
            index += 1
            while let byte = current {
                switch byte {
                case UInt8(ascii: "\""): index += 1; return nil
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escaped = current else { return failure("an escape") }
                    if escaped == UInt8(ascii: "u") {
                        for _ in 0..<4 {
                            index += 1
                            guard let hex = current, isHex(hex) else { return failure("four hex digits after \\u") }
                        }
                    } else if !"\"\\/bfnrt".utf8.contains(escaped) {
                        return failure("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)")
                    }
                    index += 1
                case 0..<0x20: return failure("a closing quote (control characters must be escaped)")
                default: index += 1
                }
            }
            return failure("a closing quote")
        }

        mutating func literal(_ word: String) -> JSONSyntaxError? {
            for byte in word.utf8 {
                guard current == byte else { return failure("\(word)") }
                index += 1
            }
            return nil
        }

        mutating func number() -> JSONSyntaxError? {
            if current == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return failure("a digit") }
            if current == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { return failure("a digit") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { return failure("a digit") }
            }
            return nil
        }

        mutating func digits() -> Int {
            let start = index
            while let byte = current, byte >= 0x30, byte <= 0x39 { index += 1 }
            return index - start
        }

        func isHex(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
        }

        /// The error at the current byte: its line, and its column counted in UTF-8 lead bytes (characters).
        func failure(_ expected: String) -> JSONSyntaxError {
            var line = 1, column = 1
            for byte in bytes[0..<min(index, bytes.count)] {
                if byte == 0x0A { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
            }
            return JSONSyntaxError(line: line, column: column, expected: expected)
        }
    }
}
