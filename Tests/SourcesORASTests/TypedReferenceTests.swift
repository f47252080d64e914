import Foundation
import Pipeline
import Testing
import TestSupport
@testable import SourcesORAS

/// References as people type them (docker's reading), and docker.io's names as one registry.
@Suite struct TypedReferenceTests {
    @Test func readsReferencesAsDockerDoes() throws {
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let cases: [(String, String)] = [
            ("127.0.0.1:5000/aks/x:v1", "127.0.0.1:5000/aks/x:v1"),
            ("oci://127.0.0.1:5000/aks/x:v1", "127.0.0.1:5000/aks/x:v1"),
            ("OCI://localhost/x@\(digest)", "localhost/x@\(digest)"),
            ("mcr.microsoft.com/oss/binaries/kubernetes/kubernetes-node:v1.34.9-linux-amd64",
             "mcr.microsoft.com/oss/binaries/kubernetes/kubernetes-node:v1.34.9-linux-amd64"),
            ("alpine:3.19", "docker.io/library/alpine:3.19"),
            ("team/tool:2", "docker.io/team/tool:2"),
            ("docker.io/alpine@\(digest)", "docker.io/library/alpine@\(digest)"),
            ("index.docker.io/team/tool:2", "docker.io/team/tool:2"),
            ("host.example/a:t@\(digest)", "host.example/a:t@\(digest)"),
        ]
        for (typed, read) in cases {
            #expect(Reference.isTyped(typed), "\(typed)")
            #expect(try Reference(typed: typed).description == read, "\(typed)")
        }
        #expect(try Reference(typed: "oci://127.0.0.1:5000/aks/x", requiringTag: false).description == "127.0.0.1:5000/aks/x")
        #expect(!Reference.isTyped("https://host/x.tgz") && !Reference.isTyped("s3://bucket/x"))
    }

    @Test func aMistypedURLOrPathIsRefusedNotGuessed() {
        for (typed, why) in [("cdn.example.com/a/b.tgz", "neither a tag nor a digest"), ("dir/file.tgz", "neither a tag nor a digest"),
                             ("host_1:5000/x:v1", "label 'host_1'"), ("Team/tool:1", "no registry host"), ("/abs/x:v1", "empty path component"), ("oci://h:1/x:-v", "tag '-v'")] {
            let error = #expect(throws: PkgfetchError.self) { try Reference(typed: typed) }
            #expect(error?.kind == .resolveFailed && error?.message.contains(why) == true, "\(typed): \(error?.message ?? "")")
            #expect(error?.message.contains("'\(typed)'") == true, "the message names the value as typed: \(error?.message ?? "")")
        }
    }

    @Test func theBootstrapRegistryServesMCRUnderTheSamePath() throws {
        let mcr = try Reference(typed: "mcr.microsoft.com/oss/kubernetes/pause:3.6")
        let other = try Reference(typed: "ghcr.io/team/tool:1")
        let bootstrap = try RegistryAddress(parsing: "myacr.azurecr.io/cache")
        #expect(ReferenceResolver.pulledReference(mcr, bootstrapRegistry: bootstrap).description == "myacr.azurecr.io/cache/oss/kubernetes/pause:3.6")
        #expect(ReferenceResolver.pulledReference(mcr, bootstrapRegistry: nil) == mcr)
        #expect(ReferenceResolver.pulledReference(other, bootstrapRegistry: bootstrap) == other)
    }

    @Test func dockerHubCredentialsAreFoundWhereverTheRequestWent() async throws {
        let hub = StaticCredentialStore(.basic(username: "u", password: "p"), host: "docker.io")
        #expect(try await hub.credential(for: DockerHub.apiHost) == .basic(username: "u", password: "p"))
        #expect(try await hub.credential(for: "ghcr.io") == nil)

        let dir = try TemporaryDirectory("docker-hub-config")
        let auth = Data("alice:pw".utf8).base64EncodedString()
        try #"{"auths": {"https://index.docker.io/v1/": {"auth": "\#(auth)"}}}"#.write(toFile: dir.join("config.json"), atomically: true, encoding: .utf8)
        let config = try DockerConfigCredentialStore(path: dir.join("config.json"))
        #expect(try await config.credential(for: "registry-1.docker.io") == .basic(username: "alice", password: "pw"))

        let hosts = RegistryHosts(directory: nil).hosts(from: HostsFile(certificateFiles: [], directory: ""), namespace: "docker.io")
        #expect(hosts.map(\.origin) == ["https://registry-1.docker.io"] && hosts.allSatisfy { !$0.isMirror })
    }
}
