import Crypto
import Foundation
import Pipeline
import SourcesHTTP

/// A manifest as the registry served it, checked against its digest.
public struct FetchedManifest: Sendable {
    public var document: ManifestDocument
    public var digest: Pipeline.SHA256Digest
    public var size: Int
}

/// The two registry calls a pull needs, over the shared libcurl transport: fetch a manifest,
/// download a blob. Authentication is the authorizer's business; failures come out as
/// `PkgfetchError`s classified like the HTTP fetcher's, about the `oci` scheme (`FailureClassification.registry`).
public struct RegistryClient: Sendable {
    public let transport: CurlTransport
    public let authorizer: RegistryAuthorizer
    public let schemes: RegistrySchemePolicy
    /// A blob transfer slower than 1 byte/s for this long is cut.
    public let stallTimeout: Duration
    /// Manifests are small; a bigger answer is refused rather than read into memory.
    public var manifestLimit = 4 << 20

    public init(transport: CurlTransport, credentials: any CredentialStore = AnonymousCredentialStore(),
                schemes: RegistrySchemePolicy = RegistrySchemePolicy(), tokens: TokenCache = TokenCache(),
                stallTimeout: Duration = .seconds(30)) {
        self.transport = transport
        self.schemes = schemes
        authorizer = RegistryAuthorizer(credentials: credentials, tokens: tokens, tokenService: TokenService(transport: transport))
        self.stallTimeout = stallTimeout
    }

    /// `scheme://host/v2/repository`.
    public func repositoryURL(_ reference: Reference) -> String {
        "\(schemes.scheme(for: reference.registry))://\(reference.registry)/v2/\(reference.repository)"
    }

    func target(_ reference: Reference) -> AuthTarget {
        .pull(host: reference.registry, scheme: schemes.scheme(for: reference.registry), repository: reference.repository)
    }

    /// `GET /v2/<repo>/manifests/<tag or digest>`, accepting OCI and Docker manifests and indexes.
    /// The body is checked against the reference's digest, else against `Docker-Content-Digest`.
    public func manifest(_ reference: Reference, deadline: ContinuousClock.Instant?,
                         events: EventEmitter = EventEmitter()) async throws -> FetchedManifest {
        let what = "manifest \(reference)"
        let url = "\(repositoryURL(reference))/manifests/\(reference.manifestReference)"
        let limit = manifestLimit
        let response: HTTPResponse
        do {
            response = try await authorizer.perform(target(reference), deadline: deadline, what: what, events: events) { authorization in
                var headers = HTTPHeaders()
                headers.set("Accept", MediaType.manifestAccept)
                if let authorization { headers.set("Authorization", authorization) }
                let response = try await transport.send(HTTPRequest(url: url, headers: headers, deadline: deadline)) { _ in
                    .collect(limit: limit)
                }
                return response.status == 401 || response.status == 403 ? .unauthorized(response.head) : .done(response)
            }
        } catch {
            throw Self.classify(error, what: what)
        }
        guard (200..<300).contains(response.status) else {
            throw Self.classify(HTTPStatusError(head: response.head, body: response.body), what: what)
        }
        let actual = Pipeline.SHA256Digest(SHA256.hash(data: response.body))
        if let pinned = reference.digest, pinned != actual {
            throw PkgfetchError(.integrityMismatch, "\(what): the registry served content with digest \(actual)")
        }
        if reference.digest == nil, let header = response.headers["Docker-Content-Digest"], header.hasPrefix("sha256:"),
           let claimed = Pipeline.SHA256Digest(header), claimed != actual {
            throw PkgfetchError(.integrityMismatch, "\(what): Docker-Content-Digest says \(claimed), the body is \(actual)")
        }
        let document = try ManifestDocument.decode(response.body, contentType: response.headers["Content-Type"], what: what)
        return FetchedManifest(document: document, digest: actual, size: response.body.count)
    }

    /// `GET /v2/<repo>/blobs/<digest>` from byte `offset`, as a stream whose validator is the digest. A
    /// redirect to blob storage is followed by libcurl without the registry's Authorization; every
    /// stream asks the registry URL again (a storage URL's signature may have expired).
    public func openBlob(_ reference: Reference, digest: Pipeline.SHA256Digest, offset: Int64 = 0, length: Int64? = nil,
                         deadline: ContinuousClock.Instant?, events: EventEmitter = EventEmitter()) async throws -> FetchedStream {
        let what = "blob \(digest) of \(reference.registry)/\(reference.repository)"
        let url = "\(repositoryURL(reference))/blobs/\(digest)"
        let stall = stallTimeout
        do {
            return try await authorizer.perform(target(reference), deadline: deadline, what: what, events: events) { authorization in
                var headers = HTTPHeaders()
                if let authorization { headers.set("Authorization", authorization) }
                do {
                    let request = HTTPRequest(url: url, headers: headers, deadline: deadline, stallTimeout: stall)
                    var (_, stream) = try await HTTPStream.open(request, offset: offset, length: length, ifRange: nil, transport: transport,
                                                                classification: .registry, what: what)
                    // The address is the content: whatever answers is this version.
                    stream.validator = .digest(digest)
                    return .done(stream)
                } catch let failure as HTTPStatusError where [401, 403].contains(failure.status) && failure.head.url.hasPrefix(url) {
                    // Only the registry's own 401/403 is the authorizer's business; blob storage's is a plain failure.
                    return .unauthorized(failure.head)
                }
            }
        } catch {
            throw Self.classify(error, what: what)
        }
    }

    /// As the HTTP fetcher classifies it, about the `oci` scheme (401/403: `registry-unauthorized`).
    static func classify(_ error: any Error, what: String) -> PkgfetchError {
        FailureClassification.registry.error(for: error, what: what)
    }
}
