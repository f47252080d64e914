#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// Credentials from a Docker `config.json`, as `docker login` and `oras login` write it:
/// `credHelpers[host]`, else `credsStore`, run as `docker-credential-<name> get`; then the file's own
/// `auths[host]` (`auth` = base64 `user:pass`, or `username`/`password`, or `identitytoken`).
/// A helper that says it has nothing for the host falls through to `auths`.
public struct DockerConfigCredentialStore: CredentialStore {
    public let path: String
    let config: DockerConfigFile
    let helperRunner: @Sendable (String) -> CredentialHelperStore

    /// Reads and parses the file now, so a broken file is a usage error at start, not mid-pull.
    public init(path: String, helperRunner: @escaping @Sendable (String) -> CredentialHelperStore = { CredentialHelperStore(name: $0) }) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PkgfetchError(.usage, "registry config \(path): cannot read the file")
        }
        do {
            config = try JSONDecoder().decode(DockerConfigFile.self, from: data)
        } catch {
            throw PkgfetchError(.usage, "registry config \(path): not a Docker config.json (expected an object with 'auths', 'credHelpers' or 'credsStore')")
        }
        self.path = path
        self.helperRunner = helperRunner
    }

    /// The file the Docker CLI would read: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`;
    /// nil when neither exists.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        var candidates: [String] = []
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty { candidates.append(dir.appendingPath("config.json")) }
        if let home = environment["HOME"], !home.isEmpty { candidates.append(home + "/.docker/config.json") }
        return candidates.first { FileManager.default.isReadableFile(atPath: $0) }
    }

    public func credential(for host: String) async throws -> Credential? {
        let host = RegistryHost.normalize(host)
        let helpers = (config.credHelpers ?? [:]).reduce(into: [String: String]()) { $0[RegistryHost.normalize($1.key)] = $1.value }
        if let helper = helpers[host] ?? config.credsStore, !helper.isEmpty {
            if let found = try await helperRunner(helper).credential(for: host) { return found }
        }
        guard let entry = config.auths?.first(where: { RegistryHost.normalize($0.key) == host })?.value else { return nil }
        return try entry.credential(host: host, file: path)
    }
}

/// The parts of config.json that hold credentials.
struct DockerConfigFile: Decodable, Sendable {
    var auths: [String: AuthEntry]?
    var credHelpers: [String: String]?
    var credsStore: String?

    struct AuthEntry: Decodable, Sendable {
        var auth: String?
        var username: String?
        var password: String?
        var identitytoken: String?

        func credential(host: String, file: String) throws -> Credential? {
            if let token = identitytoken, !token.isEmpty { return .identityToken(token) }
            if let auth, !auth.isEmpty {
                guard let decoded = Data(base64Encoded: auth, options: .ignoreUnknownCharacters),
                      let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") else {
                    // Never echo the value: it is a secret.
                    throw PkgfetchError(.usage, "registry config \(file): the 'auth' of \(host) is not base64 of user:password")
                }
                return .basic(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
            }
            if let username, let password { return .basic(username: username, password: password) }
            return nil
        }
    }
}
