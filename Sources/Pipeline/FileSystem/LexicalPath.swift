#if canImport(Glibc)
import Glibc
#endif

/// An absolute path normalised by its text alone, on bytes: `.` and empty components dropped, `..`
/// taking away the component before it, no symlink read. Two paths are the same when their bytes
/// are (canonically equivalent Unicode names are different names on Linux), and one is inside
/// another when the other is among its ancestors (`parent`, repeated).
package struct LexicalPath: Hashable, Sendable, CustomStringConvertible {
    /// The components below `/`, each a file name's bytes (never empty, `.` or `..`).
    package let components: [[UInt8]]

    /// A path of `components`, each the bytes of one name (no `/`, no `.` or `..`).
    package init(components: [[UInt8]]) { self.components = components }

    /// `path` made absolute against the working directory (as the kernel sees it), then normalised.
    package init(_ path: String) {
        var bytes = Array(path.utf8)
        if bytes.first != UInt8(ascii: "/") { bytes = Self.workingDirectory() + [UInt8(ascii: "/")] + bytes }
        var components: [[UInt8]] = []
        for component in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if component.elementsEqual([UInt8(ascii: ".")]) { continue }
            if component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                _ = components.popLast()
                continue
            }
            components.append(Array(component))
        }
        self.components = components
    }

    /// Whether this is `/` itself.
    package var isRoot: Bool { components.isEmpty }

    /// The path without its last component (`/` for `/` itself).
    package var parent: LexicalPath { LexicalPath(components: components.dropLast()) }

    /// The last component's bytes; nil for `/`.
    package var name: [UInt8]? { components.last }

    /// The path as text, to pass on to code that takes paths (bytes that are not UTF-8 become U+FFFD,
    /// and such a path names nothing).
    package var string: String { "/" + components.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/") }

    /// The path for a message: as `string`, with control characters shown as `\xNN`, so a name cannot
    /// break the one-line error or rewrite the terminal.
    package var description: String {
        var out = ""
        for scalar in string.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The working directory; when it has none (removed meanwhile), the kernel's link to it, which
    /// then leads nowhere: a relative path must never fall back to `/`.
    private static func workingDirectory() -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil, buffer[0] == CChar(UInt8(ascii: "/")) else { return Array("/proc/self/cwd".utf8) }
        return buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    }
}
