import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP
import SourcesORAS

/// `oci` sources: the bootstrap registry, pulled as `oras pull` does. Its flags say how to speak to the
/// registry and where its credentials come from.
struct RegistryBackend: BuiltInBackend {
    @Flag(name: .long, help: "Talk plain HTTP to the registry (default only for localhost and 127.0.0.1).")
    var plainHTTP = false

    @Option(name: .long, help: ArgumentHelp("Registry user name (with --password-stdin).", valueName: "name"))
    var username: String?

    @Flag(name: .long, help: "Read the registry password from standard input.")
    var passwordStdin = false

    @Option(name: .long, help: ArgumentHelp("Docker config.json with registry credentials (default: $DOCKER_CONFIG/config.json, ~/.docker/config.json).", valueName: "file"), completion: .file())
    var registryConfig: String?

    @Option(name: .long, help: ArgumentHelp("Client id of the managed identity to log in to the bootstrap registry with (an Azure Container Registry).", valueName: "id"))
    var identityClientId: String?

    @Option(name: .long, help: ArgumentHelp("Tenant id sent to the registry's token exchange (with --identity-client-id).", valueName: "id"))
    var tenantId: String?

    @Option(name: .long, help: ArgumentHelp("IMDS token endpoint (with --identity-client-id; default: \(IMDSClient.defaultEndpoint)). Always reached without a proxy.", valueName: "url"))
    var imdsEndpoint: String?

    @Option(name: .long, help: ArgumentHelp("Entra resource to ask IMDS for, instead of \(ManagedIdentityCredentialStore.registryResource) then \(ManagedIdentityCredentialStore.managementResource) (with --identity-client-id).", valueName: "url"))
    var identityResource: String?

    @OptionGroup var hostsDirectory: HostsDirectoryOptions

    var descriptor: BackendDescriptor {
        BackendDescriptor(name: "registry", schemes: ["oci"], capabilities: .all, failures: ORASFetcher.failures, sourceKind: .registry)
    }

    func validate() throws {
        if passwordStdin, username == nil { throw ValidationError("--password-stdin needs --username") }
        try validateIdentity()
        if identityClientId != nil, username != nil || registryConfig != nil {
            throw ValidationError("--identity-client-id cannot be used with --username or --registry-config: give one source of registry credentials")
        }
    }

    func makeFetcher(_ shared: SharedTransport) throws -> any Fetcher {
        let schemes = schemePolicy(for: shared.registry)
        let hosts = hostsDirectory.registryHosts(schemes)
        // A hosts.toml pkgfetch refuses fails the run now, with exit 2, not at the first pull.
        for registry in [shared.registry?.host].compactMap({ $0 }) + shared.referencedRegistries.sorted() { _ = try hosts.load(registry) }
        return ORASFetcher(transport: shared.transport,
                           credentials: try registryCredentials(for: try loginRegistry(shared), pullsByReference: !shared.referencedRegistries.isEmpty,
                                                                transport: shared.transport, schemes: schemes, events: shared.events),
                           schemes: schemes, stallTimeout: shared.stallTimeout, hosts: hosts)
    }

    /// The one registry `--username` and `--identity-client-id` log in to: the bootstrap registry, else
    /// the registry the run's references name, when they name one. A run whose references name several
    /// cannot tell which registry a password is for: refused, rather than offered to each.
    func loginRegistry(_ shared: SharedTransport) throws -> RegistryAddress? {
        if let registry = shared.registry { return registry }
        guard shared.referencedRegistries.count <= 1 else {
            if username != nil || identityClientId != nil {
                throw PkgfetchError(.usage, "--username and --identity-client-id log in to one registry, and the references name "
                                        + "\(shared.referencedRegistries.sorted().joined(separator: ", ")): give --bootstrap-registry, "
                                        + "or keep the logins in a Docker config (--registry-config)")
            }
            return nil
        }
        return try shared.referencedRegistries.first.map(RegistryAddress.init(parsing:))
    }

    /// Credentials, first that applies: `--username` + `--password-stdin`; the managed identity of
    /// `--identity-client-id` (an ACR login, asked only when the registry refuses anonymous access);
    /// `--registry-config FILE`; `$DOCKER_CONFIG/config.json`; `~/.docker/config.json`; none (anonymous).
    /// The first two are for `registry` only; a Docker config names its registries itself.
    func registryCredentials(for registry: RegistryAddress?, pullsByReference: Bool = false, transport: CurlTransport? = nil,
                             schemes: RegistrySchemePolicy = RegistrySchemePolicy(), events: EventEmitter = EventEmitter(),
                             readStdin: () -> Data = { StandardStream.input.readDataToEndOfFile() })
        throws -> any CredentialStore {
        guard let registry else {
            // Without a registry nothing is pulled from one: do not read stdin or config files for nothing.
            guard pullsByReference else { return AnonymousCredentialStore() }
            return try dockerConfigCredentials()
        }
        if let store = credentialStore(registryHost: registry.host, registryScheme: schemes.scheme(for: registry.host),
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
        return try dockerConfigCredentials()
    }

    /// `--registry-config FILE`, else Docker's own config file, else none.
    func dockerConfigCredentials() throws -> any CredentialStore {
        if let registryConfig { return try DockerConfigCredentialStore(path: registryConfig) }
        if let found = DockerConfigCredentialStore.defaultPath() { return try DockerConfigCredentialStore(path: found) }
        return AnonymousCredentialStore()
    }

    /// `--plain-http`, and the scheme the `--bootstrap-registry` value spelled out, if any.
    func schemePolicy(for registry: RegistryAddress?) -> RegistrySchemePolicy {
        Self.schemePolicy(for: registry, alwaysPlainHTTP: plainHTTP)
    }

    /// The scheme the `--bootstrap-registry` value spelled out, if any (`resolve` has no `--plain-http`).
    static func schemePolicy(for registry: RegistryAddress?, alwaysPlainHTTP: Bool = false) -> RegistrySchemePolicy {
        RegistrySchemePolicy(alwaysPlainHTTP: alwaysPlainHTTP,
                             plainHTTPHosts: registry.flatMap { $0.scheme == "http" ? [$0.host] : nil } ?? [],
                             httpsHosts: registry.flatMap { $0.scheme == "https" ? [$0.host] : nil } ?? [])
    }
}
