/// Registry access tokens for the life of the process, keyed by registry host and scope, so one
/// token serves the manifest and every blob of a pull, and a second pull of the same repository.
/// Also remembers how each host asked to be authenticated, so later requests can authenticate up
/// front instead of paying a 401 round trip each time.
public actor TokenCache {
    public struct Key: Hashable, Sendable {
        public var host: String
        /// The scopes the token was asked for, sorted and space-joined.
        public var scope: String
        public init(host: String, scopes: [String]) {
            self.host = host.lowercased()
            scope = Set(scopes).sorted().joined(separator: " ")
        }
    }

    /// How a host wants to be authenticated, learned from its first challenge.
    public enum HostScheme: Sendable, Equatable {
        case basic
        case bearer(AuthChallenge)
    }

    private struct Entry {
        var token: String
        var expires: ContinuousClock.Instant
    }

    private var tokens: [Key: Entry] = [:]
    private var schemes: [String: HostScheme] = [:]
    /// Tokens are dropped this long before they expire, so none expires mid-request.
    private let margin: Duration

    public init(margin: Duration = .seconds(10)) { self.margin = margin }

    public func token(for key: Key) -> String? {
        guard let entry = tokens[key] else { return nil }
        guard ContinuousClock.now < entry.expires else {
            tokens[key] = nil
            return nil
        }
        return entry.token
    }

    /// Stores a token valid for `lifetime` (the token response's `expires_in`).
    public func store(_ token: String, for key: Key, lifetime: Duration) {
        let usable = lifetime > margin * 2 ? lifetime - margin : lifetime / 2
        tokens[key] = Entry(token: token, expires: .now + usable)
    }

    /// Forgets `token` for `key` after the registry refused it, unless a newer one replaced it meanwhile.
    public func invalidate(_ token: String, for key: Key) {
        if tokens[key]?.token == token { tokens[key] = nil }
    }

    public func scheme(of host: String) -> HostScheme? { schemes[host.lowercased()] }
    public func remember(_ scheme: HostScheme, for host: String) { schemes[host.lowercased()] = scheme }
}
