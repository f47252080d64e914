import Foundation
import Pipeline
import SourcesHTTP
import SourcesORAS

/// Turns the transport flags into what the ORAS fetcher needs: where credentials come from and
/// which registries are spoken to over plain HTTP.
extension TransportOptions {
    /// Credentials, first that applies: `--username` + `--password-stdin`; the managed identity of
    /// `--identity-client-id` (an ACR login, asked only when the registry refuses anonymous access);
    /// `--registry-config FILE`; `$DOCKER_CONFIG/config.json`; `~/.docker/config.json`; none (anonymous).
    func registryCredentials(for registry: RegistryAddress?, identity: IdentityOptions? = nil, transport: CurlTransport? = nil,
                             schemes: RegistrySchemePolicy = RegistrySchemePolicy(), events: EventEmitter = EventEmitter(),
                             readStdin: () -> Data = { FileHandle.standardInput.readDataToEndOfFile() })
        throws -> any CredentialStore {
        // Without a registry nothing is pulled from one: do not read stdin or config files for nothing.
        guard let registry else { return AnonymousCredentialStore() }
        if let identity, let store = identity.credentialStore(registryHost: registry.host, registryScheme: schemes.scheme(for: registry.host),
                                                              transport: transport ?? CurlTransport(), events: events) {
            return store
        }
        if let username, passwordStdin {
            var password = String(decoding: readStdin(), as: UTF8.self)
            // Like `docker login --password-stdin`: one trailing newline is the terminal's, not the password's.
            if password.hasSuffix("\n") { password.removeLast() }
            if password.hasSuffix("\r") { password.removeLast() }
            guard !password.isEmpty else { throw PkgfetchError(.usage, "--password-stdin: standard input was empty") }
            return StaticCredentialStore(.basic(username: username, password: password), host: registry.host)
        }
        if let username, !passwordStdin {
            throw PkgfetchError(.usage, "--username \(username) needs --password-stdin (passwords are never taken as flags)")
        }
        if let registryConfig { return try DockerConfigCredentialStore(path: registryConfig) }
        if let found = DockerConfigCredentialStore.defaultPath() { return try DockerConfigCredentialStore(path: found) }
        return AnonymousCredentialStore()
    }

    /// `--plain-http`, and the scheme the `--bootstrap-registry` value spelled out, if any.
    func schemePolicy(for registry: RegistryAddress?) -> RegistrySchemePolicy {
        RegistrySchemePolicy(alwaysPlainHTTP: plainHTTP,
                             plainHTTPHosts: registry.flatMap { $0.scheme == "http" ? [$0.host] : nil } ?? [],
                             httpsHosts: registry.flatMap { $0.scheme == "https" ? [$0.host] : nil } ?? [])
    }
}
