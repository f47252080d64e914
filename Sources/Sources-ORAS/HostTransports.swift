#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP

/// The libcurl transport for each host's TLS settings: the shared one for a host whose entry says
/// nothing about TLS, else one made from the shared one's options with the host's `ca`, `client` and
/// `skip_verify` applied, kept for the process so its connections are reused.
final class HostTransports: @unchecked Sendable {
    let shared: CurlTransport
    // Guarded by lock.
    private let lock = Lock()
    private var made: [RegistryHost.TLS: CurlTransport] = [:]

    init(shared: CurlTransport) { self.shared = shared }

    func transport(for host: RegistryHost) -> CurlTransport {
        guard !host.tls.isDefault else { return shared }
        return lock.withLock {
            if let known = made[host.tls] { return known }
            var options = shared.options
            options.moreCAFiles += host.tls.caFiles
            if let skip = host.tls.skipVerify { options.insecure = skip }
            // libcurl shows one client certificate; the first pair is the one (containerd's Go TLS
            // would pick among several by the server's request, a case hosts.toml files rarely have).
            if let pair = host.tls.clientPairs.first {
                options.clientCertificate = pair.certificate
                options.clientKey = pair.key.isEmpty ? nil : pair.key
            }
            let transport = CurlTransport(options: options)
            made[host.tls] = transport
            return transport
        }
    }
}
