#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Untyped JSON as `Any` (`[String: Any]`, `[Any]`, `String`, `Double`, `Bool`), read and written:
/// what `JSONSerialization` did for small server answers and `--json` reports, without linking all
/// of Foundation and its ICU data into the binary. A null reads as no value (a missing key).
package enum JSONAny {
    /// The value `data` holds; nil when it is not JSON.
    package static func parse(_ data: Data) -> Any? {
        (try? JSONDecoder().decode(Node.self, from: data))?.value
    }

    /// `value` as one line of JSON, keys sorted, `/` not escaped; nil when it holds anything but
    /// strings, numbers, booleans, arrays and string-keyed dictionaries.
    package static func text(_ value: Any) -> String? {
        var out = ""
        return write(value, to: &out) ? out : nil
    }

    private static func write(_ value: Any, to out: inout String) -> Bool {
        switch value {
        case let text as String: quote(text, to: &out)
        case let flag as Bool: out += flag ? "true" : "false"
        case let number as any BinaryInteger: out += "\(number)"
        case let number as Double:
            guard number.isFinite else { return false }
            out += number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case let list as [Any]:
            out += "["
            for (index, element) in list.enumerated() {
                if index > 0 { out += "," }
                guard write(element, to: &out) else { return false }
            }
            out += "]"
        case let object as [String: Any]:
            out += "{"
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                quote(key, to: &out)
                out += ":"
                guard write(object[key]!, to: &out) else { return false }
            }
            out += "}"
        default: return false
        }
        return true
    }

    private static func quote(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    private enum Node: Decodable {
        case null, flag(Bool), number(Double), text(String), list([Node]), object([String: Node])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let flag = try? container.decode(Bool.self) { self = .flag(flag) }
            else if let number = try? container.decode(Double.self) { self = .number(number) }
            else if let text = try? container.decode(String.self) { self = .text(text) }
            else if let list = try? container.decode([Node].self) { self = .list(list) }
            else { self = .object(try container.decode([String: Node].self)) }
        }

        var value: Any? {
            switch self {
            case .null: nil
            case .flag(let flag): flag
            case .number(let number): number
            case .text(let text): text
            case .list(let list): list.compactMap(\.value) as [Any]
            case .object(let object): object.compactMapValues(\.value) as [String: Any]
            }
        }
    }
}
