import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP

/// A manifest as the registry served it, checked against its digest.
public struct FetchedManifest: Sendable {
    public var document: ManifestDocument
    public var digest: Pipeline.SHA256Digest
    public var size: Int
    /// `scheme://host` of the host (the registry or a mirror) that answered.
    public var servedBy: String?
}

/// The two registry calls a pull needs, over the shared libcurl transport: fetch a manifest,
/// download a blob. Each goes to the registry's hosts in order (`RegistryHosts`: the mirrors of its
/// hosts.toml, then the registry), a tag only to hosts that may resolve one. Authentication is the
/// authorizer's business; failures come out as `PkgfetchError`s classified like the HTTP fetcher's,
/// about the `oci` scheme (`FailureClassification.registry`).
public struct RegistryClient: Sendable {
    public let transport: CurlTransport
    public let authorizer: RegistryAuthorizer
    /// Where content is fetched from: the registry alone unless a hosts directory names mirrors.
    public let hosts: RegistryHosts
    /// A blob transfer slower than 1 byte/s for this long is cut.
    public let stallTimeout: Duration
    /// Manifests are small; a bigger answer is refused rather than read into memory.
    public var manifestLimit = 4 << 20
    let transports: HostTransports
    let rotation = BlobHostRotation()
    let pinned = PinnedManifests()

    public init(transport: CurlTransport, credentials: any CredentialStore = AnonymousCredentialStore(),
                schemes: RegistrySchemePolicy = RegistrySchemePolicy(), tokens: TokenCache = TokenCache(),
                stallTimeout: Duration = .seconds(30), hosts: RegistryHosts? = nil) {
        self.transport = transport
        self.hosts = hosts ?? RegistryHosts(directory: nil, schemes: schemes)
        authorizer = RegistryAuthorizer(credentials: credentials, tokens: tokens, tokenService: TokenService(transport: transport))
        self.stallTimeout = stallTimeout
        transports = HostTransports(shared: transport)
    }

    /// Which registries are spoken to over plain HTTP (the hosts' policy: one, not a second copy).
    public var schemes: RegistrySchemePolicy { hosts.schemes }

    /// The authorizer for requests to `host`: the shared credentials, tokens and anonymous-access
    /// ledger (all keyed by the host contacted, so a mirror is offered only what is stored for the
    /// mirror's own name), with token requests over the host's transport.
    func authorizer(for host: RegistryHost) -> RegistryAuthorizer {
        let hostTransport = transports.transport(for: host)
        guard hostTransport !== transport else { return authorizer }
        return RegistryAuthorizer(credentials: authorizer.credentials, tokens: authorizer.tokens,
                                  tokenService: TokenService(transport: hostTransport), anonymous: authorizer.anonymous)
    }

    /// `GET /v2/<repo>/manifests/<tag or digest>`, accepting OCI and Docker manifests and indexes.
    /// The body is checked against the reference's digest, else against `Docker-Content-Digest`.
    /// A tag goes to hosts with `pull` and `resolve`, a digest to hosts with `pull`; a digest this
    /// process already fetched is not asked again (`PinnedManifests`).
    public func manifest(_ reference: Reference, deadline: ContinuousClock.Instant?,
                         events: EventEmitter = EventEmitter()) async throws -> FetchedManifest {
        if let known = pinned.manifest(for: reference) { return known }
        let needed: RegistryHost.Capabilities = reference.digest == nil ? [.pull, .resolve] : .pull
        let fetched = try await firstAnswer(reference, needing: needed, what: "manifest \(reference)", deadline: deadline, events: events) {
            try await manifest(reference, at: $0, what: $1, deadline: deadline, events: events)
        }
        pinned.keep(fetched, for: reference)
        return fetched
    }

    private func manifest(_ reference: Reference, at host: RegistryHost, what: String, deadline: ContinuousClock.Instant?,
                          events: EventEmitter) async throws -> FetchedManifest {
        let url = host.url(repository: reference.repository, "manifests/\(reference.manifestReference)")
        let response = try await collect(url, accept: MediaType.manifestAccept, for: reference, at: host, what: what, deadline: deadline,
                                         events: events)
        let actual = Pipeline.SHA256Digest(SHA256.hash(data: response.body))
        if let pinned = reference.digest, pinned != actual {
            throw PkgfetchError(.integrityMismatch, "\(what): the registry served content with digest \(actual)")
        }
        if reference.digest == nil, let header = response.headers["Docker-Content-Digest"], header.hasPrefix("sha256:"),
           let claimed = Pipeline.SHA256Digest(header), claimed != actual {
            throw PkgfetchError(.integrityMismatch, "\(what): Docker-Content-Digest says \(claimed), the body is \(actual)")
        }
        let document = try ManifestDocument.decode(response.body, contentType: response.headers["Content-Type"], what: what)
        return FetchedManifest(document: document, digest: actual, size: response.body.count, servedBy: host.origin)
    }

    /// `GET /v2/<repo>/blobs/<digest>` from byte `offset` (`length` bytes, or to the end), as a stream
    /// whose validator is the digest, from the first host with `pull` that answers. A redirect to blob
    /// storage is followed by libcurl without the registry's Authorization; every stream asks the
    /// registry URL again (a storage URL's signature may have expired).
    public func openBlob(_ reference: Reference, digest: Pipeline.SHA256Digest, offset: Int64 = 0, length: Int64? = nil,
                         deadline: ContinuousClock.Instant?, events: EventEmitter = EventEmitter()) async throws -> FetchedStream {
        let what = "blob \(digest) of \(reference.registry)/\(reference.repository)"
        return try await firstAnswer(reference, needing: .pull, what: what, deadline: deadline, events: events,
                                     order: { rotation.order($0, for: digest) }) {
            let stream = try await openBlob(reference, digest: digest, offset: offset, length: length, at: $0, what: $1,
                                            deadline: deadline, events: events)
            rotation.opened(digest, from: $0)
            return stream
        }
    }

    private func openBlob(_ reference: Reference, digest: Pipeline.SHA256Digest, offset: Int64, length: Int64?, at host: RegistryHost,
                          what: String, deadline: ContinuousClock.Instant?, events: EventEmitter) async throws -> FetchedStream {
        let url = host.url(repository: reference.repository, "blobs/\(digest)")
        let registryURL = String(url.prefix { $0 != "?" })
        let stall = stallTimeout
        let hostTransport = transports.transport(for: host)
        do {
            return try await authorizer(for: host).perform(target(reference, at: host), deadline: deadline, what: what,
                                                           events: events) { authorization in
                var headers = host.headers
                if let authorization { headers.set("Authorization", authorization) }
                do {
                    let request = HTTPRequest(url: url, headers: headers, deadline: deadline, connectTimeout: host.dialTimeout,
                                              stallTimeout: stall)
                    var (_, stream) = try await HTTPStream.open(request, offset: offset, length: length, ifRange: nil, transport: hostTransport,
                                                                classification: .registry, what: what)
                    // The address is the content: whatever answers is this version.
                    stream.validator = .digest(digest)
                    stream.servedBy = host.origin
                    return .done(stream)
                } catch let failure as HTTPStatusError where [401, 403].contains(failure.status) && failure.head.url.hasPrefix(registryURL) {
                    // Only the registry's own 401/403 is the authorizer's business; blob storage's is a plain failure.
                    return .unauthorized(failure.head)
                }
            }
        } catch {
            throw Self.classify(error, what: what)
        }
    }

    /// `GET url` on `host`, authorized as a pull of the reference's repository, its body (at most
    /// `manifestLimit` bytes) collected; anything but a 2xx answer is thrown, classified.
    func collect(_ url: String, accept: String, for reference: Reference, at host: RegistryHost, what: String,
                 deadline: ContinuousClock.Instant?, events: EventEmitter) async throws -> HTTPResponse {
        let limit = manifestLimit
        let hostTransport = transports.transport(for: host)
        let response: HTTPResponse
        do {
            response = try await authorizer(for: host).perform(target(reference, at: host), deadline: deadline, what: what,
                                                               events: events) { authorization in
                var headers = host.headers
                headers.set("Accept", accept)
                if let authorization { headers.set("Authorization", authorization) }
                let request = HTTPRequest(url: url, headers: headers, deadline: deadline, connectTimeout: host.dialTimeout)
                let response = try await hostTransport.send(request) { _ in .collect(limit: limit) }
                return response.status == 401 || response.status == 403 ? .unauthorized(response.head) : .done(response)
            }
        } catch {
            throw Self.classify(error, what: what)
        }
        guard (200..<300).contains(response.status) else {
            throw Self.classify(HTTPStatusError(head: response.head, body: response.body), what: what)
        }
        return response
    }

    func target(_ reference: Reference, at host: RegistryHost) -> AuthTarget {
        .pull(host: host.host, scheme: host.scheme, repository: reference.repository)
    }

    /// `attempt` at each of the registry's hosts that has `needed`, in order, until one answers.
    /// A host that cannot be reached, times out, or answers 404, 401/403, 429 or 5xx is passed over for
    /// the next, as containerd does; content that is not what its digest says is a failed source and
    /// ends the search (another host's copy is not "the twin" to try). When every host fails, the most
    /// telling failure is reported, as containerd ranks them: an HTTP error over a 404 over a
    /// connection failure (so a mirror that is down does not hide the registry's 404).
    func firstAnswer<Value: Sendable>(_ reference: Reference, needing needed: RegistryHost.Capabilities, what: String,
                                      deadline: ContinuousClock.Instant?, events: EventEmitter,
                                      order: ([RegistryHost]) -> [RegistryHost] = { $0 },
                                      _ attempt: (RegistryHost, String) async throws -> Value) async throws -> Value {
        let candidates = order(try await hosts.hosts(for: reference.registry).filter { $0.capabilities.isSuperset(of: needed) })
        guard !candidates.isEmpty else {
            throw PkgfetchError(.artifactNotFound, "\(what): no host configured for \(reference.registry) may \(needed.contains(.resolve) ? "resolve a tag" : "pull")")
        }
        var reported: (rank: Int, error: PkgfetchError)?
        for (position, host) in candidates.enumerated() {
            let described = host.isMirror ? "\(what) from mirror \(host.origin)" : what
            do {
                return try await attempt(host, described)
            } catch {
                let failure = Self.classify(error, what: described)
                let last = position == candidates.count - 1
                if last || !Self.movesOn(failure) || Task.isCancelled || deadline.map({ .now >= $0 }) == true {
                    guard let reported, reported.rank > Self.rank(failure), Self.movesOn(failure) else { throw failure }
                    throw reported.error
                }
                // The host passed over, in `servedBy`; the source is the reference, as on every registry event.
                events.emit(task: "oci-host", source: Source(scheme: "oci", location: reference.description), outcome: "next",
                            error: failure, status: failure.status, servedBy: host.origin)
                if reported.map({ Self.rank(failure) > $0.rank }) ?? true { reported = (Self.rank(failure), failure) }
            }
        }
        // Not reached: the last host returns or throws above.
        throw reported?.error ?? PkgfetchError(.internal, "\(what): no host was tried")
    }

    /// Whether after `failure` the next host is asked: not for wrong bytes, nor once the attempt is over.
    static func movesOn(_ failure: PkgfetchError) -> Bool {
        ![.integrity, .cancelled, .stopped, .unsafe, .tooLarge].contains(failure.reason)
    }

    /// containerd's order of relevance: 3 an HTTP error, 2 not found, 1 no answer at all.
    static func rank(_ failure: PkgfetchError) -> Int {
        if failure.reason == .notFound { return 2 }
        return failure.status != nil ? 3 : 1
    }

    /// As the HTTP fetcher classifies it, about the `oci` scheme (401/403: `registry-unauthorized`).
    static func classify(_ error: any Error, what: String) -> PkgfetchError {
        FailureClassification.registry.error(for: error, what: what)
    }
}
