import AKS
import ComponentList
import Foundation
import Pipeline
import SourcesHTTP
import SourcesORAS
import Unpackers

/// The parsers of what a server or a file sends, each as one function of arbitrary bytes: the bodies
/// of the libFuzzer targets (`make fuzz`, Fuzz/) and of the test that replays their seeds and every
/// crash they found (Tests/FuzzRegressionTests). Each returns normally for any input; a crash, a trap
/// or a broken invariant (`violated`) is a finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case reference, challenge, manifest, rules, url, batch, jwt, http, unpack, hosts, components

    public func run(_ data: Data) {
        switch self {
        case .reference: Self.reference(data)
        case .challenge: Self.challenge(data)
        case .manifest: Self.manifest(data)
        case .rules: Self.rules(data)
        case .url: Self.url(data)
        case .batch: Self.batch(data)
        case .jwt: Self.jwt(data)
        case .http: Self.http(data)
        case .unpack: ArchiveFuzzing.unpack(data)
        case .hosts: Self.hosts(data)
        case .components: Self.components(data)
        }
    }

    /// AgentBaker's components.json, selected for several nodes: the file is read or refused in one
    /// message, and every planned file lands in an absolute location with no `.` or `..` in it.
    static func components(_ data: Data) {
        let file: ComponentsFile
        do { file = try ComponentsFile(json: data) } catch {
            if error.message.isEmpty { violated("an empty message") }
            return
        }
        let targets = [NodeTarget(os: "ubuntu", release: "22.04"), NodeTarget(os: "azurelinux", release: "3.0", variant: "OSGUARD"),
                       NodeTarget(os: "flatcar", release: "1", arch: .arm64), NodeTarget(os: "windows", release: "ws2022")]
        for target in targets {
            for options in [ComponentPlan.Options(), .init(kubernetes: "1.34"), .init(allVersions: true)] {
                guard let plan = try? ComponentPlan.select(file, for: target, options: options) else { continue }
                for case .fetch(let files) in plan.packages.map(\.outcome) {
                    for planned in files where !planned.directory.hasPrefix("/")
                        || planned.directory.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) {
                        violated("a file planned outside its location: \(planned.directory.debugDescription)")
                    }
                }
            }
        }
    }

    /// A containerd hosts.toml, read strictly or refused in one line. What is read names the registry
    /// last, and gives URLs and headers that carry no spaces, line breaks or control bytes to libcurl.
    static func hosts(_ data: Data) {
        let reader = RegistryHosts(directory: nil)
        guard let hosts = checked({
            try reader.hosts(parsing: Array(data), file: "/etc/containerd/certs.d/r.example/hosts.toml", namespace: "r.example:5000")
        }) else { return }
        guard !hosts.isEmpty else { violated("no hosts at all: the registry itself is always last") }
        for host in hosts {
            let url = host.url(repository: "a/b", "blobs/sha256:0")
            if url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F }) {
                violated("URL is not one plain token: \(url.debugDescription)")
            }
            for field in host.headers.fields where (field.name + field.value).unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                violated("header with a line break: \(field.name.debugDescription)")
            }
        }
    }

    /// An OCI reference (`host[:port]/repo[:tag][@sha256:…]`): what a rule's template or a user makes.
    /// One that parses prints as text that parses to the same reference; one typed (docker's reading)
    /// prints as a full reference that reads back the same either way. The text, ordered as a version
    /// against its reading, orders the same both ways round.
    static func reference(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        if let typed = checked({ try Reference(typed: text) }) {
            let full = typed.description
            guard checked({ try Reference(parsing: full) }) == typed, checked({ try Reference(typed: full) }) == typed else {
                violated("'\(text)' read as '\(full)', which does not read back to itself")
            }
            if VersionOrder.compare(text, full).signum() != -VersionOrder.compare(full, text).signum() {
                violated("version order of '\(text)' and '\(full)' is not antisymmetric")
            }
        }
        guard let reference = checked({ try Reference(parsing: text) }) else { return }
        guard let again = checked({ try Reference(parsing: reference.description) }), again == reference else {
            violated("'\(reference)' does not parse back to itself")
        }
    }

    /// `WWW-Authenticate` values from a registry, one per line.
    static func challenge(_ data: Data) {
        let values = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        for challenge in AuthChallenge.parse(values) { _ = challenge.parameters.count }
    }

    /// A manifest or index body; the first byte picks the `Content-Type` it came with. What decodes is
    /// then used as the fetcher uses it: a layer picked by file name, an entry picked by platform.
    static func manifest(_ data: Data) {
        let types: [String?] = [nil, MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest,
                                MediaType.dockerManifestList, "application/json; charset=utf-8"]
        let contentType = types[Int(data.first ?? 0) % types.count]
        guard let document = checked({ try ManifestDocument.decode(Data(data.dropFirst()), contentType: contentType, what: "fuzz") }) else { return }
        switch document {
        case .manifest(let manifest):
            _ = checked { try LayerSelector(fileName: "azure-vnet-cni-windows-amd64-v1.6.20.zip").select(from: manifest, what: "fuzz") }
        case .index(let index):
            for platform in [Platform(os: "linux", architecture: "amd64"), Platform(os: "windows", architecture: "amd64", osVersion: "10.0.20348.2340"),
                             Platform(os: "linux", architecture: "arm64", variant: "v8")] {
                _ = PlatformMatcher(platform).select(from: index.manifests)
            }
        }
    }

    /// A `--rules` file, compiled and then asked to resolve URLs of each built-in family.
    static func rules(_ data: Data) {
        guard let rules = checked({ try CDNURLResolver.decodeRules(data, from: "fuzz.json") }),
              let resolver = checked({ try CDNURLResolver(extraRules: rules) }) else { return }
        for url in sampleURLs { _ = checked { try resolver.resolve(request(url)) } }
    }

    /// A package URL (from a batch list or the command line) through the built-in rules, with and
    /// without a bootstrap registry.
    static func url(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        _ = checked { try builtIns.resolve(request(text)) }
        _ = checked { try builtIns.resolve(request(text, registry: nil)) }
    }

    /// A `batch` list, and each entry's URL resolved as the batch would.
    static func batch(_ data: Data) {
        guard let list = checked({ try BatchList(json: data) }) else { return }
        for entry in list.entries { _ = checked { try builtIns.resolve(request(entry.url)) } }
    }

    /// An ACR refresh token's claims.
    static func jwt(_ data: Data) {
        _ = RefreshTokenClaims(jwt: String(decoding: data, as: UTF8.self))?.allowsPull
    }

    /// A response head from a CDN or registry (first line the status, then `Name: value` lines) as the
    /// failure classification reads it: status, `Retry-After`; and its validator (`ETag`, `Last-Modified`, `Date`).
    static func http(_ data: Data) {
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let status = lines.isEmpty ? 0 : Int(lines.removeFirst().prefix(4)) ?? 0
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...]))
        }
        let head = HTTPResponseHead(status: status, headers: headers, url: "https://packages.aks.azure.com/x.zip?sig=secret")
        _ = head.retryAfter
        _ = HTTPStream.validator(of: head)
        for classification in [FailureClassification.http, .registry] {
            let failure = classification.error(for: HTTPStatusError(head: head, body: Data()), what: "fuzz")
            checkMessage(failure)
            if failure.message.contains("secret") { violated("a signed URL's query reached a message: \(failure.message)") }
        }
    }

    // MARK: Shared pieces

    static let builtIns = try! CDNURLResolver()
    static let sampleURLs = [
        "https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip",
        "https://packages.aks.azure.com/containerd/windows/v1.7.20-azure.1/binaries/containerd-v1.7.20-azure.1-windows-amd64.tar.gz",
        "https://packages.aks.azure.com/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz",
        "https://example.com/some/thing-1.0.tar.gz",
    ]

    static func request(_ url: String, registry: String? = "myacr.azurecr.io") -> PackageRequest {
        PackageRequest(url: url, bootstrapRegistry: registry.flatMap { try? RegistryAddress(parsing: $0) }, target: .file(path: "/tmp/x"))
    }

    /// The body's result, or nil when it threw as pkgfetch's errors should: a `PkgfetchError` whose
    /// message is one line. Any other error, or a message over several lines, is a finding.
    static func checked<T>(_ body: () throws -> T) -> T? {
        do { return try body() } catch let failure as PkgfetchError {
            checkMessage(failure)
            return nil
        } catch {
            violated("not a PkgfetchError: \(type(of: error)) \(error)")
        }
    }

    /// pkgfetch prints a failure as one line: no line breaks or terminal escapes smuggled in from input.
    static func checkMessage(_ failure: PkgfetchError) {
        if failure.message.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\u{1B}" }) {
            violated("message is not one plain line: \(failure.message.debugDescription)")
        }
    }

    static func violated(_ what: String) -> Never {
        fatalError("fuzz invariant: \(what)")
    }
}
