#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// What a registry login needs. `description` never shows the secret.
public enum Credential: Sendable, Equatable, CustomStringConvertible {
    /// A user name and password (or a personal access token), sent as Basic auth or to a token realm.
    case basic(username: String, password: String)
    /// A refresh token (Docker's `identitytoken`, ACR's exchanged token): traded at the realm with
    /// `grant_type=refresh_token`.
    case identityToken(String)

    public var description: String {
        switch self {
        case .basic(let username, _): "user '\(username)'"
        case .identityToken: "an identity token"
        }
    }

    /// `Authorization: Basic …` for this credential; nil for an identity token, which only a realm accepts.
    var basicAuthorization: String? {
        guard case .basic(let username, let password) = self else { return nil }
        return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }
}

/// A source of registry credentials, keyed by registry host (`host[:port]`). Returns nil when it
/// has nothing for the host; throws only when it was configured but is broken (a helper that fails).
/// Later sources (e.g. an Azure managed-identity login producing a refresh token) plug in here.
public protocol CredentialStore: Sendable {
    func credential(for host: String) async throws -> Credential?
    /// The same, bounded by `deadline` (the fetch attempt's): stores that do network work to produce
    /// a credential (a managed-identity login) must end by then. Default: `credential(for:)`.
    func credential(for host: String, deadline: ContinuousClock.Instant?) async throws -> Credential?
    /// The registry refused `credential`, or a token minted from it: a store that can make a new one
    /// forgets it, so the next lookup makes a new one. Default: nothing (a password stays what it is).
    func invalidate(_ credential: Credential, for host: String) async
    /// True when the store's answers expire and it renews them itself, so callers must ask it each
    /// time rather than remember an answer for the life of the process. Default: false.
    var answersExpire: Bool { get }
    /// True when the store's credential costs a login that anonymous access may make needless (a
    /// managed identity): on a Bearer challenge the realm is asked for an anonymous token first,
    /// and the store only when that token is refused. Default: false (a configured credential is
    /// used as the registry asks for it, as docker and oras do).
    var anonymousFirst: Bool { get }
}

extension CredentialStore {
    public func credential(for host: String, deadline: ContinuousClock.Instant?) async throws -> Credential? {
        try await credential(for: host)
    }
    public func invalidate(_ credential: Credential, for host: String) async {}
    public var answersExpire: Bool { false }
    public var anonymousFirst: Bool { false }
}

/// No credentials: anonymous pulls only.
public struct AnonymousCredentialStore: CredentialStore {
    public init() {}
    public func credential(for host: String) async throws -> Credential? { nil }
}

/// One credential given on the command line (`--username` + `--password-stdin`), for one host or any.
public struct StaticCredentialStore: CredentialStore {
    public let host: String?
    let value: Credential

    public init(_ credential: Credential, host: String? = nil) {
        self.value = credential
        self.host = host.map(RegistryHost.normalize)
    }

    public func credential(for host: String) async throws -> Credential? {
        if let only = self.host, only != RegistryHost.normalize(host) { return nil }
        return value
    }
}

/// Asks each store in turn; the first that has something for the host wins.
public struct CredentialChain: CredentialStore {
    public let stores: [any CredentialStore]
    public init(_ stores: [any CredentialStore]) { self.stores = stores }

    public func credential(for host: String) async throws -> Credential? {
        try await credential(for: host, deadline: nil)
    }

    public func credential(for host: String, deadline: ContinuousClock.Instant?) async throws -> Credential? {
        for store in stores {
            if let found = try await store.credential(for: host, deadline: deadline) { return found }
        }
        return nil
    }

    public func invalidate(_ credential: Credential, for host: String) async {
        for store in stores { await store.invalidate(credential, for: host) }
    }

    /// A chain holding one store whose answers expire must be asked each time as a whole.
    public var answersExpire: Bool { stores.contains { $0.answersExpire } }
    public var anonymousFirst: Bool { stores.contains { $0.anonymousFirst } }
}

/// Asks the store behind it once per host for the life of the process: a credential helper is a
/// process start, and a pull makes several requests to one host. A store whose answers expire (a
/// managed-identity login) keeps and renews them itself, so it is asked each time.
public actor CachingCredentialStore: CredentialStore {
    private let store: any CredentialStore
    private var answers: [String: Credential?] = [:]

    public init(_ store: any CredentialStore) { self.store = store }

    public func credential(for host: String) async throws -> Credential? {
        try await credential(for: host, deadline: nil)
    }

    public func credential(for host: String, deadline: ContinuousClock.Instant?) async throws -> Credential? {
        let key = RegistryHost.normalize(host)
        if store.answersExpire { return try await store.credential(for: key, deadline: deadline) }
        if let known = answers[key] { return known }
        let found = try await store.credential(for: key, deadline: deadline)
        answers[key] = .some(found)
        return found
    }

    /// Forgets the answer if it is the refused one, and tells the store behind.
    public func invalidate(_ credential: Credential, for host: String) async {
        let key = RegistryHost.normalize(host)
        if case .some(.some(let known)) = answers[key], known == credential { answers[key] = nil }
        await store.invalidate(credential, for: key)
    }

    public nonisolated var answersExpire: Bool { store.answersExpire }
    public nonisolated var anonymousFirst: Bool { store.anonymousFirst }
}

/// How registry hosts are compared: `https://Host:443/v1/` and `host:443` name the same registry, and
/// docker.io, index.docker.io (where Docker's config.json keeps its login) and registry-1.docker.io
/// (the host contacted) are one registry, so a credential for docker.io is offered there.
extension RegistryHost {
    static func normalize(_ text: String) -> String {
        var host = Substring(text.trimmingWhitespace)
        for prefix in ["https://", "http://"] where host.lowercased().hasPrefix(prefix) {
            host = host.dropFirst(prefix.count)
        }
        if let slash = host.firstIndex(of: "/") { host = host[..<slash] }
        return DockerHub.registryName(host.lowercased())
    }
}
