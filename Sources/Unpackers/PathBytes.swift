#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Names and paths handed to system calls as the bytes they are, never through a Swift `String`
/// (which would be free to compare or split them as characters).
enum PathBytes {
    static let separator = UInt8(ascii: "/")

    /// Calls `body` with `path` as a NUL-terminated C string.
    static func withCString<Result>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) -> Result) -> Result {
        (path + [0]).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    /// A name read from a directory.
    static func name(of item: UnsafeMutablePointer<dirent>) -> [UInt8] {
        withUnsafeBytes(of: item.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
    }

    static func isSelfOrParent(_ name: [UInt8]) -> Bool { name == [0x2E] || name == [0x2E, 0x2E] }

    static func joined(_ components: [[UInt8]]) -> [UInt8] { Array(components.joined(separator: [separator])) }
}
