import Foundation
import Pipeline
import Testing
import TestSupport
@testable import SourcesORAS

/// The client against a real distribution registry, with artifacts pushed by independent clients.
@Suite(.offPool) struct RegistryPullTests {
    let repository = "aks/packages/azure/azure-vnet-cni"
    let fileName = "azure-vnet-cni-windows-amd64-v1.6.20.zip"

    @Test func pullsAFilePushedByOrasAndChecksItsDigest() async throws {
        let work = try TemporaryDirectory("oras-pull")
        let registry = try TestRegistry()
        let file = try packageFile(fileName, size: 3 << 20, seed: 11, in: work)
        try registry.pushWithORAS(file, repository: repository, tag: "v1.6.20")

        let pulled = try await pull(.make(), "\(registry.host)/\(repository):v1.6.20", fileName: fileName, into: work)
        #expect(pulled.digest.hex == (try Files.sha256(file)))
        #expect(pulled.content.expected.digest == pulled.digest)
        #expect(pulled.content.expected.size == 3 << 20)
        #expect(pulled.content.format == nil)
        #expect(pulled.events.contains { $0.task == "oci-manifest" && $0.outcome == "ok" })

        // By digest too: the manifest is checked against the reference's digest.
        let digest = try registry.manifest(repository: repository, reference: "v1.6.20").digest
        let pinned = try await pull(.make(), "\(registry.host)/\(repository)@\(digest)", fileName: fileName, into: work, name: "pinned")
        #expect(pinned.digest == pulled.digest)
    }

    @Test func unknownTagIsArtifactNotFound() async throws {
        let work = try TemporaryDirectory("oras-404")
        let registry = try TestRegistry()
        let error = await pkgfetchError { _ = try await pull(.make(), "\(registry.host)/\(repository):v9.9.9", fileName: fileName, into: work) }
        #expect(error?.kind == .artifactNotFound)
        #expect(error?.retryable == false)
        #expect(error?.message.contains("v9.9.9") == true)
    }

    @Test func orasDirectoryLayerComesBackAsTarGzip() async throws {
        let work = try TemporaryDirectory("oras-dir")
        let registry = try TestRegistry()
        let folder = work.join("push/bin")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Files.writeRandom(folder + "/azure-vnet.exe", size: 4096, seed: 3)
        try Files.writeRandom(folder + "/azure-vnet-ipam.exe", size: 2048, seed: 4)
        try registry.pushWithORAS(folder, repository: "aks/packages/dir", tag: "v1")
        // Python oras marks a directory by media type only; Go oras (what the node scripts push with)
        // also sets io.deis.oras.content.unpack. Re-tag the same blobs with that manifest.
        let pushed = try registry.manifest(repository: "aks/packages/dir", reference: "v1")
        var manifest = try #require(try JSONSerialization.jsonObject(with: pushed.body) as? [String: Any])
        var layers = try #require(manifest["layers"] as? [[String: Any]])
        var annotations = layers[0]["annotations"] as? [String: String] ?? [:]
        #expect(annotations[Annotation.title] == "bin")
        annotations[Annotation.unpack] = "true"
        layers[0]["annotations"] = annotations
        manifest["layers"] = layers
        try registry.putManifest(try JSONSerialization.data(withJSONObject: manifest), mediaType: MediaType.ociManifest,
                                 repository: "aks/packages/dir", tag: "v1-go")

        let pulled = try await pull(.make(), "\(registry.host)/aks/packages/dir:v1-go", fileName: "bin", into: work)
        #expect(pulled.content.format == .tarGzip)
        let listing = try Processes.check(["tar", "tzf", pulled.path]).stdout
        #expect(listing.contains("azure-vnet-ipam.exe"))
    }

    @Test func dockerManifestListPushedWithSkopeoPicksThePlatform() async throws {
        let work = try TemporaryDirectory("docker-list")
        let registry = try TestRegistry()
        let name = "containerd-v1.7.20-windows-amd64.tar.gz"
        var entries: [(digest: String, size: Int, mediaType: String, platform: [String: String])] = []
        var expected: [String: String] = [:]
        for (os, seed) in [("windows", UInt64(21)), ("linux", UInt64(22))] {
            let layout = try dockerDirLayout(title: name, os: os, seed: seed, in: work)
            try registry.skopeoCopy(from: "dir:\(layout.path)", repository: "aks/packages/containerd/containerd", tag: "v1.7.20-\(os)")
            let manifest = try registry.manifest(repository: "aks/packages/containerd/containerd", reference: "v1.7.20-\(os)")
            #expect(manifest.mediaType == MediaType.dockerManifest)
            entries.append((manifest.digest, manifest.body.count, MediaType.dockerManifest, ["os": os, "architecture": "amd64"]))
            expected[os] = layout.layerDigest
        }
        try registry.putManifest(TestRegistry.index(entries, mediaType: MediaType.dockerManifestList), mediaType: MediaType.dockerManifestList,
                                 repository: "aks/packages/containerd/containerd", tag: "v1.7.20")
        let reference = "\(registry.host)/aks/packages/containerd/containerd:v1.7.20"
        for os in ["windows", "linux"] {
            let pulled = try await pull(.make(), reference, fileName: name, platform: Platform(os: os, architecture: "amd64"), into: work, name: os)
            #expect(pulled.digest.description == expected[os])
            #expect(pulled.events.filter { $0.task == "oci-manifest" }.count == 2)
        }
        let error = await pkgfetchError {
            _ = try await pull(.make(), reference, fileName: name, platform: Platform(os: "linux", architecture: "arm64"), into: work, name: "arm")
        }
        #expect(error?.kind == .noMatchingContent)
        #expect(error?.message.contains("windows/amd64, linux/amd64") == true)
    }

    /// A `dir:` layout with one Docker v2 manifest whose only layer (gzip bytes, so skopeo keeps it as
    /// it is) is titled `title`. Returns the layout's path and the layer's digest.
    func dockerDirLayout(title: String, os: String, seed: UInt64, in work: TemporaryDirectory) throws -> (path: String, layerDigest: String) {
        let path = work.join("layout-\(os)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Files.writeRandom(path + "/raw", size: 64 * 1024, seed: seed)
        try Processes.check(["gzip", "-n", path + "/raw"])
        let layerHex = try Files.sha256(path + "/raw.gz")
        let layerSize = try FileManager.default.attributesOfItem(atPath: path + "/raw.gz")[.size] as! Int
        try FileManager.default.moveItem(atPath: path + "/raw.gz", toPath: path + "/" + layerHex)
        let config = Data(#"{"architecture":"amd64","os":"\#(os)","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
        try config.write(to: URL(fileURLWithPath: path + "/config"))
        let configHex = try Files.sha256(path + "/config")
        try FileManager.default.moveItem(atPath: path + "/config", toPath: path + "/" + configHex)
        let manifest = """
        {"schemaVersion":2,"mediaType":"\(MediaType.dockerManifest)",\
        "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":\(config.count),"digest":"sha256:\(configHex)"},\
        "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":\(layerSize),"digest":"sha256:\(layerHex)",\
        "annotations":{"\(Annotation.title)":"\(title)"}}]}
        """
        try manifest.write(toFile: path + "/manifest.json", atomically: true, encoding: .utf8)
        try "Directory Transport Version: 1.1\n".write(toFile: path + "/version", atomically: true, encoding: .utf8)
        return (path, "sha256:\(layerHex)")
    }
}
