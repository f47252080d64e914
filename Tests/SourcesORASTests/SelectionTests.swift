import Foundation
import Pipeline
import Testing
@testable import SourcesORAS

@Suite struct PlatformMatcherTests {
    let entries = [
        Descriptor(digest: "sha256:1", size: 1, platform: DescriptorPlatform(os: "linux", architecture: "amd64")),
        Descriptor(digest: "sha256:2", size: 1, platform: DescriptorPlatform(os: "windows", architecture: "amd64", osVersion: "10.0.17763.5820")),
        Descriptor(digest: "sha256:3", size: 1, platform: DescriptorPlatform(os: "windows", architecture: "amd64", osVersion: "10.0.20348.2461")),
        Descriptor(digest: "sha256:4", size: 1, platform: DescriptorPlatform(os: "linux", architecture: "arm64", variant: "v8")),
        Descriptor(digest: "sha256:5", size: 1, platform: DescriptorPlatform(os: "linux", architecture: "arm", variant: "v7")),
        Descriptor(digest: "sha256:6", size: 1),
    ]

    func pick(_ text: String) -> String? { PlatformMatcher(Platform(parsing: text)!).select(from: entries)?.digest }

    @Test func matchesOsArchitectureVariantAndVersion() {
        #expect(pick("linux/amd64") == "sha256:1")
        #expect(pick("windows/amd64") == "sha256:2")
        #expect(pick("windows/amd64:10.0.20348") == "sha256:3")
        #expect(pick("windows/amd64:10.0.17763.5820") == "sha256:2")
        #expect(pick("windows/amd64:10.0.26100") == nil)
        #expect(pick("linux/arm64") == "sha256:4")     // arm64 = arm64/v8
        #expect(pick("linux/aarch64") == "sha256:4")
        #expect(pick("linux/x86_64") == "sha256:1")
        #expect(pick("linux/arm/v7") == "sha256:5")
        #expect(pick("linux/arm/v6") == nil)
        #expect(pick("darwin/amd64") == nil)
    }
}

@Suite struct LayerSelectorTests {
    func layer(_ title: String?, digest: String = "sha256:aa", annotations: [String: String] = [:]) -> Descriptor {
        var all = annotations
        if let title { all[Annotation.title] = title }
        return Descriptor(mediaType: "application/vnd.oci.image.layer.v1.tar", digest: digest, size: 3, annotations: all.isEmpty ? nil : all)
    }

    @Test func exactTitleWinsThenTheOnlyTitledLayer() throws {
        let manifest = ImageManifest(layers: [layer("a.zip", digest: "sha256:a"), layer("b.zip", digest: "sha256:b"), layer(nil)])
        #expect(try LayerSelector(fileName: "b.zip").select(from: manifest, what: "r").layer.digest == "sha256:b")

        let single = ImageManifest(layers: [layer(nil, digest: "sha256:x"), layer("renamed.zip", digest: "sha256:y")])
        let chosen = try LayerSelector(fileName: "azure-vnet-cni-windows-amd64-v1.6.20.zip").select(from: single, what: "r")
        #expect(chosen.layer.digest == "sha256:y")
        #expect(chosen.title == "renamed.zip")
        #expect(!chosen.isPackedDirectory)
    }

    @Test func ambiguousOrUntitledIsNoMatchingContentNamingTitles() {
        let many = ImageManifest(layers: [layer("a.zip"), layer("b.zip")])
        let error = #expect(throws: PkgfetchError.self) { try LayerSelector(fileName: "c.zip").select(from: many, what: "r") }
        #expect(error?.kind == .noMatchingContent)
        #expect(error?.message.contains("'a.zip', 'b.zip'") == true)

        let none = ImageManifest(layers: [layer(nil)])
        let untitled = #expect(throws: PkgfetchError.self) { try LayerSelector(fileName: "c.zip").select(from: none, what: "r") }
        #expect(untitled?.kind == .noMatchingContent)
    }

    /// The rules archive entries follow, and one component: `x..y` is a name like any other.
    @Test func pathLikeTitlesAreUnsafe() throws {
        for title in ["../evil.zip", "/etc/passwd", "dir/file.zip", "a\\b.zip", "C:evil.zip", "..", ".", "", String(repeating: "a", count: 256)] {
            let manifest = ImageManifest(layers: [layer(title)])
            let error = #expect(throws: PkgfetchError.self) { try LayerSelector(fileName: title).select(from: manifest, what: "r") }
            #expect(error?.kind == .unsafeArchive, "\(title)")
        }
        #expect(try LayerSelector(fileName: "x..y").select(from: ImageManifest(layers: [layer("x..y")]), what: "r").title == "x..y")
    }

    @Test func orasDirectoryLayerIsPackedTarGzip() throws {
        let manifest = ImageManifest(layers: [layer("bin", annotations: [Annotation.unpack: "true"])])
        #expect(try LayerSelector(fileName: "bin").select(from: manifest, what: "r").isPackedDirectory)
    }
}

@Suite struct ManifestDocumentTests {
    @Test func decodesByContentTypeThenMediaTypeThenShape() throws {
        let index = Data(#"{"schemaVersion":2,"manifests":[{"digest":"sha256:1","size":2,"platform":{"os":"windows","architecture":"amd64","os.version":"10.0.17763"}}]}"#.utf8)
        guard case .index(let parsed) = try ManifestDocument.decode(index, contentType: "application/vnd.oci.image.index.v1+json; charset=utf-8", what: "r") else {
            Issue.record("not an index"); return
        }
        #expect(parsed.manifests.first?.platform?.osVersion == "10.0.17763")
        guard case .index = try ManifestDocument.decode(index, contentType: "application/octet-stream", what: "r") else {
            Issue.record("shape not used"); return
        }
        let docker = Data(#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","layers":[]}"#.utf8)
        guard case .manifest = try ManifestDocument.decode(docker, contentType: nil, what: "r") else { Issue.record("not a manifest"); return }

        let schema1 = Data(#"{"schemaVersion":1,"fsLayers":[]}"#.utf8)
        let error = #expect(throws: PkgfetchError.self) {
            try ManifestDocument.decode(schema1, contentType: "application/vnd.docker.distribution.manifest.v1+prettyjws", what: "r")
        }
        #expect(error?.kind == .orasPullFailed)
        #expect(error?.message.contains("v1+prettyjws") == true)
        #expect(throws: PkgfetchError.self) { try ManifestDocument.decode(Data("nope".utf8), contentType: nil, what: "r") }
    }
}

@Suite struct SchemePolicyTests {
    @Test func loopbackIsPlainUnlessHTTPSWasSaid() {
        let policy = RegistrySchemePolicy()
        #expect(policy.scheme(for: "127.0.0.1:5000") == "http")
        #expect(policy.scheme(for: "localhost") == "http")
        #expect(policy.scheme(for: "[::1]:5000") == "http")
        #expect(policy.scheme(for: "myacr.azurecr.io") == "https")
        #expect(policy.scheme(for: "127.0.0.2:5000") == "https")
        #expect(RegistrySchemePolicy(httpsHosts: ["127.0.0.1:5000"]).scheme(for: "127.0.0.1:5000") == "https")
        #expect(RegistrySchemePolicy(plainHTTPHosts: ["reg.local:80"]).scheme(for: "REG.local:80") == "http")
        #expect(RegistrySchemePolicy(alwaysPlainHTTP: true).scheme(for: "myacr.azurecr.io") == "http")
    }
}

@Suite struct TokenCacheTests {
    @Test func storesPerHostAndScopeInvalidatesAndExpires() async throws {
        let cache = TokenCache(margin: .milliseconds(1))
        let key = TokenCache.Key(host: "H:1", scopes: ["repository:a:pull"])
        await cache.store("t1", for: key, lifetime: .seconds(60))
        #expect(await cache.token(for: TokenCache.Key(host: "h:1", scopes: ["repository:a:pull"])) == "t1")
        #expect(await cache.token(for: TokenCache.Key(host: "h:1", scopes: ["repository:b:pull"])) == nil)
        await cache.invalidate("other", for: key)
        #expect(await cache.token(for: key) == "t1")
        await cache.invalidate("t1", for: key)
        #expect(await cache.token(for: key) == nil)
        await cache.store("short", for: key, lifetime: .milliseconds(20))
        try await Task.sleep(for: .milliseconds(40))
        #expect(await cache.token(for: key) == nil)
    }
}
