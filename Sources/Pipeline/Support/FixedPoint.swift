#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension String {
    /// `value` with `places` digits after the point, as C's `%.*f` prints it (pkgfetch keeps the C
    /// locale for numbers): `String(format:)` would link all of Foundation and its ICU data into the binary.
    package init(fixedPoint value: Double, places: Int) {
        self = Self.printed(value, places: Swift.max(0, places))
    }

    private static func printed(_ value: Double, places: Int) -> String {
        // 309 digits before the point at most (Double's largest), a sign, a point and the places.
        var buffer = [CChar](repeating: 0, count: 320 + places)
        _ = withVaList([Int32(places), value]) { arguments in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, "%.*f", arguments) }
        }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
