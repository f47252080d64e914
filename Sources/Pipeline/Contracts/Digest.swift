import Crypto

/// A SHA-256 digest, the only algorithm packages and OCI blobs are addressed by here.
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible, Codable {
    /// Lower-case hex, 64 characters.
    public let hex: String

    /// Accepts `HEX` or `sha256:HEX`, any case. Returns nil when it is not a SHA-256 digest.
    public init?(_ text: String) {
        var body = Substring(text)
        if body.lowercased().hasPrefix("sha256:") { body = body.dropFirst(7) }
        let lower = body.lowercased()
        guard lower.count == 64, lower.allSatisfy({ $0.isHexDigit && $0.isASCII }) else { return nil }
        hex = lower
    }

    /// The digest swift-crypto computed.
    public init(_ digest: SHA256.Digest) {
        hex = digest.map { byteHex[Int($0)] }.joined()
    }

    /// `sha256:HEX`, the OCI spelling.
    public var description: String { "sha256:\(hex)" }
}

private let byteHex: [String] = (0..<256).map { value in
    let digits = Array("0123456789abcdef")
    return String([digits[value >> 4], digits[value & 0xF]])
}
