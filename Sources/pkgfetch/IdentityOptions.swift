import ArgumentParser
import Foundation
import Pipeline
import SourcesHTTP
import SourcesORAS

/// Logging in to a private Azure Container Registry with the node's managed identity (IMDS, then the
/// registry's token exchange), used only when the registry refuses anonymous access.
struct IdentityOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Client id of the managed identity to log in to the bootstrap registry with (an Azure Container Registry).", valueName: "id"))
    var identityClientId: String?

    @Option(name: .long, help: ArgumentHelp("Tenant id sent to the registry's token exchange (with --identity-client-id).", valueName: "id"))
    var tenantId: String?

    @Option(name: .long, help: ArgumentHelp("IMDS token endpoint (with --identity-client-id; default: \(IMDSClient.defaultEndpoint)). Always reached without a proxy.", valueName: "url"))
    var imdsEndpoint: String?

    @Option(name: .long, help: ArgumentHelp("Entra resource to ask IMDS for, instead of \(ManagedIdentityCredentialStore.registryResource) then \(ManagedIdentityCredentialStore.managementResource) (with --identity-client-id).", valueName: "url"))
    var identityResource: String?

    func validate() throws {
        guard let identityClientId else {
            for (flag, value) in [("--tenant-id", tenantId), ("--imds-endpoint", imdsEndpoint), ("--identity-resource", identityResource)]
            where value != nil {
                throw ValidationError("\(flag) goes with --identity-client-id")
            }
            return
        }
        try Self.checkIdentifier(identityClientId, flag: "--identity-client-id")
        if let tenantId { try Self.checkIdentifier(tenantId, flag: "--tenant-id") }
        if let imdsEndpoint { try Self.checkURL(imdsEndpoint, flag: "--imds-endpoint", allowQuery: true) }
        if let identityResource { try Self.checkURL(identityResource, flag: "--identity-resource", allowQuery: false) }
    }

    /// A client or tenant id: non-empty, one token (no spaces or control characters).
    static func checkIdentifier(_ value: String, flag: String) throws {
        guard !value.isEmpty, value.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            throw ValidationError("\(flag) '\(value)': expected an id such as 00000000-0000-0000-0000-000000000000")
        }
    }

    /// An absolute http(s) URL with a host and no user-info or fragment.
    static func checkURL(_ value: String, flag: String, allowQuery: Bool) throws {
        guard let url = URLComponents(string: value), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty, url.user == nil, url.password == nil, url.fragment == nil,
              allowQuery || url.query == nil else {
            throw ValidationError("\(flag) '\(value)': expected an http(s) URL")
        }
    }

    /// The managed-identity store for `registryHost`, or nil without `--identity-client-id`.
    func credentialStore(registryHost: String, registryScheme: String, transport: CurlTransport,
                         events: EventEmitter) -> ManagedIdentityCredentialStore? {
        guard let identityClientId else { return nil }
        let configuration = ManagedIdentityCredentialStore.Configuration(
            registryHost: registryHost, registryScheme: registryScheme, clientID: identityClientId, tenantID: tenantId,
            imdsEndpoint: imdsEndpoint ?? IMDSClient.defaultEndpoint, resources: identityResource.map { [$0] })
        return ManagedIdentityCredentialStore(configuration: configuration, transport: transport, events: events)
    }
}
