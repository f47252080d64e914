import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP
import SourcesORAS

/// The registry backend's login to a private Azure Container Registry with the node's managed identity
/// (IMDS, then the registry's token exchange), used only when the registry refuses anonymous access.
/// Its flags are declared in `RegistryBackend` (flat, not a nested option group: each level of nesting
/// multiplies ArgumentParser's work at start-up).
extension RegistryBackend {
    func validateIdentity() throws {
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
