import Crypto
import Foundation

/// Bodies for in-process servers: pseudo-random bytes and their digests.
public enum TestBodies {
    /// `size` pseudo-random bytes, the same for the same seed.
    public static func random(size: Int, seed: UInt64 = 7) -> Data {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var words = [UInt64](repeating: 0, count: (size + 7) / 8)
        for index in words.indices {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            words[index] = state
        }
        return words.withUnsafeBytes { Data($0.prefix(size)) }
    }

    /// SHA-256 of `data`, hex.
    public static func sha256(of data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
