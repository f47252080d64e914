#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP

/// What can be read from an ACR refresh token without trusting it: it is a JWT, and its payload
/// may say when it expires and, for registries with RBAC, what it permits. Nothing here checks a
/// signature; the registry does that. Only used to fail early and to renew in time.
public struct RefreshTokenClaims: Sendable, Equatable {
    /// `exp`.
    public var expires: Date?
    /// `permissions.actions` when the payload has a `permissions` object (RBAC); nil without one
    /// (ABAC registries, where nothing can be checked in advance).
    public var actions: [String]?

    public init(expires: Date? = nil, actions: [String]? = nil) {
        self.expires = expires
        self.actions = actions
    }

    /// Nil when `token` is not a JWT with a JSON object as its payload.
    public init?(jwt token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = Self.base64URLDecode(parts[1]),
              let object = JSONAny.parse(payload) as? [String: Any] else { return nil }
        // Any finite number (1e300 included) is a date; `renewAt` clamps what is left of it.
        expires = ServerNumber.finite(object["exp"]).map { Date(timeIntervalSince1970: $0) }
        if let permissions = object["permissions"] as? [String: Any] {
            actions = (permissions["actions"] as? [Any] ?? []).compactMap { $0 as? String }
        }
    }

    /// Whether the token permits a pull: `read` among `permissions.actions` (or `*`, which an Owner or
    /// Contributor assignment carries); nil when the token says nothing (ABAC).
    public var allowsPull: Bool? {
        actions.map { $0.contains("read") || $0.contains("*") }
    }

    static func base64URLDecode(_ text: Substring) -> Data? {
        var base64 = String(text).replacing("-", with: "+").replacing("_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
