/// A strict reader for the part of TOML that containerd's `hosts.toml` uses: comments, `key = value`
/// lines with bare, quoted and dotted keys, `[table]` headers, basic and literal strings, booleans,
/// integers, and (multi-line) arrays. Anything else — inline tables, multi-line strings, dates,
/// floats, arrays of tables — is refused by line number rather than guessed at.
///
/// Hand-written rather than a TOML package because the subset is small and a dependency (TOMLKit
/// wraps the C++ toml++) would add to every from-scratch CI build; the reader works on bytes, refuses
/// invalid UTF-8 and control characters, duplicate keys and redefined tables, and is a fuzz target.
public enum HostsTOML {
    /// A value of the subset.
    public indirect enum Value: Equatable, Sendable {
        case string(String)
        case bool(Bool)
        case integer(Int64)
        case array([Value])
        case table(Table)
    }

    /// A table whose keys keep the order they first appeared in (host order matters in hosts.toml).
    public struct Table: Equatable, Sendable {
        public private(set) var entries: [(key: String, value: Value)] = []

        public init() {}

        public subscript(key: String) -> Value? { entries.first { $0.key == key }?.value }

        mutating func set(_ key: String, _ value: Value) {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                entries[index].value = value
            } else {
                entries.append((key, value))
            }
        }

        public static func == (lhs: Table, rhs: Table) -> Bool {
            lhs.entries.count == rhs.entries.count
                && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        }
    }

    /// Why a document was refused, with the 1-based line it was refused at.
    public struct SyntaxError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// Documents bigger than this are refused before parsing (a hosts.toml is a few hundred bytes).
    public static let maxSize = 64 << 10
    /// Arrays nested deeper than this are refused (a client pair is two deep).
    static let maxDepth = 8
    /// Keys in a dotted key or header, and keys and tables in all, beyond which a document is refused:
    /// tables are searched linearly, and a few hosts need a few dozen keys.
    static let maxKeyParts = 16
    static let maxKeys = 1024

    /// The document's root table.
    public static func parse(_ bytes: [UInt8]) throws -> Table {
        guard bytes.count <= maxSize else { throw SyntaxError(line: 1, reason: "larger than \(maxSize) bytes") }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw SyntaxError(line: 1, reason: "not valid UTF-8")
        }
        var reader = Reader(bytes: bytes)
        return try reader.document()
    }

    /// The reader's state: a byte cursor and the tables defined so far.
    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var root = Table()
        /// The key path of the current `[table]`.
        var current: [String] = []
        /// Tables named by a header (a second header for one is an error).
        var headerDefined: Set<[String]> = []
        /// Keys and tables defined so far.
        var defined = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ reason: String) -> SyntaxError { SyntaxError(line: line, reason: reason) }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func document() throws -> Table {
            while true {
                skipBlanks()
                guard let byte = peek else { return root }
                switch byte {
                case UInt8(ascii: "#"): try skipComment()
                case UInt8(ascii: "\n"): advanceLine()
                case UInt8(ascii: "\r"): try expectNewline()
                case UInt8(ascii: "["): try header()
                default: try keyValue()
                }
            }
        }

        mutating func advanceLine() {
            index += 1
            line += 1
        }

        mutating func skipBlanks() {
            while let byte = peek, byte == 0x20 || byte == 0x09 { index += 1 }
        }

        /// A comment runs to the end of the line; TOML forbids control characters in it (tab aside).
        mutating func skipComment() throws {
            while let byte = peek, byte != 0x0A, byte != 0x0D {
                if (byte < 0x20 && byte != 0x09) || byte == 0x7F { throw fail("control character in a comment") }
                index += 1
            }
        }

        mutating func expectNewline() throws {
            switch peek {
            case nil: return
            case UInt8(ascii: "\n"): advanceLine()
            case UInt8(ascii: "\r"):
                guard index + 1 < bytes.count, bytes[index + 1] == 0x0A else { throw fail("carriage return without line feed") }
                index += 1
                advanceLine()
            default: throw fail("unexpected '\(Self.show(peek!))' after a value (one key = value per line)")
            }
        }

        /// After a value or header: blanks, an optional comment, then the end of the line.
        mutating func endOfLine() throws {
            skipBlanks()
            if peek == UInt8(ascii: "#") { try skipComment() }
            try expectNewline()
        }

        mutating func header() throws {
            index += 1
            if peek == UInt8(ascii: "[") { throw fail("arrays of tables ([[...]]) are not used in hosts.toml") }
            skipBlanks()
            let path = try key()
            skipBlanks()
            guard peek == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
            index += 1
            guard !headerDefined.contains(path) else { throw fail("table [\(path.joined(separator: "."))] defined twice") }
            try makeTable(at: path)
            headerDefined.insert(path)
            current = path
            try endOfLine()
        }

        mutating func keyValue() throws {
            let path = try key()
            skipBlanks()
            guard peek == UInt8(ascii: "=") else { throw fail("expected '=' after key '\(path.joined(separator: "."))'") }
            index += 1
            skipBlanks()
            let value = try self.value(depth: 0)
            let full = current + path
            try makeTable(at: Array(full.dropLast()))
            guard lookup(full) == nil else { throw fail("key '\(full.joined(separator: "."))' defined twice") }
            try insert(value, at: full)
            try endOfLine()
        }

        /// A dotted key: bare (`A-Za-z0-9_-`), "basic" or 'literal' parts separated by '.'.
        mutating func key() throws -> [String] {
            var parts: [String] = []
            while true {
                skipBlanks()
                switch peek {
                case UInt8(ascii: "\""): parts.append(try basicString())
                case UInt8(ascii: "'"): parts.append(try literalString())
                default:
                    let start = index
                    while let byte = peek, Self.isBareKeyByte(byte) { index += 1 }
                    guard index > start else {
                        throw fail(peek.map { "unexpected '\(Self.show($0))' where a key should be" } ?? "a key is missing")
                    }
                    parts.append(String(decoding: bytes[start..<index], as: UTF8.self))
                }
                skipBlanks()
                guard parts.count <= maxKeyParts else { throw fail("a key of more than \(maxKeyParts) parts") }
                guard peek == UInt8(ascii: ".") else { return parts }
                index += 1
            }
        }

        mutating func value(depth: Int) throws -> Value {
            guard depth <= maxDepth else { throw fail("arrays nested deeper than \(maxDepth)") }
            guard let byte = peek else { throw fail("a value is missing") }
            switch byte {
            case UInt8(ascii: "\""): return .string(try basicString())
            case UInt8(ascii: "'"): return .string(try literalString())
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "{"): throw fail("inline tables ({...}) are not supported; use a [table] header")
            default:
                let start = index
                while let byte = peek, Self.isBareKeyByte(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: ":") { index += 1 }
                let word = String(decoding: bytes[start..<index], as: UTF8.self)
                switch word {
                case "true": return .bool(true)
                case "false": return .bool(false)
                default:
                    if let number = Self.integer(word) { return .integer(number) }
                    throw fail(word.isEmpty ? "unexpected '\(Self.show(byte))' where a value should be"
                                            : "'\(word)' is not a string, boolean, integer or array")
                }
            }
        }

        /// `[ v, v, ]` over any number of lines, with comments between values.
        mutating func array(depth: Int) throws -> Value {
            index += 1
            var items: [Value] = []
            while true {
                try skipArraySpace()
                if peek == UInt8(ascii: "]") { index += 1; return .array(items) }
                items.append(try value(depth: depth + 1))
                try skipArraySpace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; return .array(items)
                case nil: throw fail("array not closed with ']'")
                default: throw fail("expected ',' or ']' in an array, found '\(Self.show(peek!))'")
                }
            }
        }

        mutating func skipArraySpace() throws {
            while let byte = peek {
                switch byte {
                case 0x20, 0x09: index += 1
                case UInt8(ascii: "\n"), UInt8(ascii: "\r"): try expectNewline()
                case UInt8(ascii: "#"): try skipComment()
                default: return
                }
            }
        }

        /// `"…"` with TOML's escapes; no raw control characters, no line breaks.
        mutating func basicString() throws -> String {
            index += 1
            if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\""), bytes[index + 1] == UInt8(ascii: "\"") {
                throw fail("multi-line strings (\"\"\") are not supported")
            }
            var out: [UInt8] = []
            while true {
                guard let byte = peek else { throw fail("string not closed with '\"'") }
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = peek else { throw fail("string not closed with '\"'") }
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "u"): out += try unicodeEscape(digits: 4)
                    case UInt8(ascii: "U"): out += try unicodeEscape(digits: 8)
                    default: throw fail("unknown escape '\\\(Self.show(escaped))' in a string")
                    }
                default:
                    if (byte < 0x20 && byte != 0x09) || byte == 0x7F { throw fail("control character in a string") }
                    out.append(byte)
                }
            }
        }

        mutating func unicodeEscape(digits: Int) throws -> [UInt8] {
            guard index + digits <= bytes.count,
                  let code = UInt32(String(decoding: bytes[index..<index + digits], as: UTF8.self), radix: 16),
                  bytes[index..<index + digits].allSatisfy(Self.isHexDigit),
                  let scalar = Unicode.Scalar(code) else {
                throw fail("\\u or \\U escape is not a Unicode scalar in hex")
            }
            index += digits
            return Array(String(Character(scalar)).utf8)
        }

        /// `'…'`, taken as written; no control characters, no line breaks.
        mutating func literalString() throws -> String {
            index += 1
            if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "'"), bytes[index + 1] == UInt8(ascii: "'") {
                throw fail("multi-line strings (''') are not supported")
            }
            let start = index
            while true {
                guard let byte = peek else { throw fail("string not closed with \"'\"") }
                if byte == UInt8(ascii: "'") { break }
                if (byte < 0x20 && byte != 0x09) || byte == 0x7F { throw fail("control character in a string") }
                index += 1
            }
            defer { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        // MARK: the table tree

        func lookup(_ path: [String]) -> Value? {
            var table = root
            for (position, part) in path.enumerated() {
                guard let found = table[part] else { return nil }
                if position == path.count - 1 { return found }
                guard case .table(let inner) = found else { return found }
                table = inner
            }
            return .table(table)
        }

        /// Makes sure a table exists at `path`, refusing to turn a value into a table.
        mutating func makeTable(at path: [String]) throws {
            for end in 0..<path.count {
                let prefix = Array(path[...end])
                switch lookup(prefix) {
                case nil:
                    try insert(.table(Table()), at: prefix)
                case .table?:
                    continue
                case _?:
                    throw fail("'\(prefix.joined(separator: "."))' is a value, not a table")
                }
            }
        }

        mutating func insert(_ value: Value, at path: [String]) throws {
            defined += 1
            guard defined <= maxKeys else { throw fail("more than \(maxKeys) keys and tables") }
            func put(_ table: inout Table, _ rest: ArraySlice<String>) {
                let key = rest.first!
                if rest.count == 1 { table.set(key, value); return }
                guard case .table(var inner)? = table[key] else { return }
                put(&inner, rest.dropFirst())
                table.set(key, .table(inner))
            }
            put(&root, path[...])
        }

        // MARK: bytes

        static func isBareKeyByte(_ byte: UInt8) -> Bool {
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }

        static func isHexDigit(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
        }

        /// A decimal integer as TOML writes it (`-5`, `+3`, `1_000`); nothing else.
        static func integer(_ word: String) -> Int64? {
            var digits = Substring(word)
            var sign: Int64 = 1
            if digits.first == "+" || digits.first == "-" {
                if digits.first == "-" { sign = -1 }
                digits = digits.dropFirst()
            }
            guard let first = digits.first, first.isASCII, first.isNumber, !digits.hasSuffix("_"), !digits.contains("__"),
                  digits.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "_" }),
                  !(digits.count > 1 && first == "0") else { return nil }
            return Int64(String(digits.filter { $0 != "_" })).map { $0 * sign }
        }

        /// A byte for a message: printable ASCII as is, anything else as `\xNN`.
        static func show(_ byte: UInt8) -> String {
            (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16, uppercase: true)
        }
    }
}
