import Pipeline
import Testing
@testable import SourcesORAS

@Suite struct ReferenceTests {
    @Test func parsesRegistryPathTagAndDigest() throws {
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let cases: [(String, String, String, String?, String?)] = [
            ("127.0.0.1:5000/aks/packages/azure/azure-vnet-cni:v1.6.20", "127.0.0.1:5000", "aks/packages/azure/azure-vnet-cni", "v1.6.20", nil),
            ("myacr.azurecr.io/aks-managed-repository/aks/packages/containerd/containerd:v1.7.20", "myacr.azurecr.io",
             "aks-managed-repository/aks/packages/containerd/containerd", "v1.7.20", nil),
            ("localhost/a__b/c-d/e.f:latest", "localhost", "a__b/c-d/e.f", "latest", nil),
            ("[::1]:5000/repo@\(digest)", "[::1]:5000", "repo", nil, digest),
            ("Registry.Example.COM:443/repo:tag@\(digest)", "registry.example.com:443", "repo", "tag", digest),
            ("host/a---b:_x", "host", "a---b", "_x", nil),
        ]
        for (text, registry, repository, tag, pinned) in cases {
            let reference = try Reference(parsing: text)
            #expect(reference.registry == registry, "\(text)")
            #expect(reference.repository == repository, "\(text)")
            #expect(reference.tag == tag, "\(text)")
            #expect(reference.digest?.description == pinned, "\(text)")
        }
        #expect(try Reference(parsing: "h:1/r:t@\(digest)").manifestReference == digest)
        #expect(try Reference(parsing: "h:1/r:t").manifestReference == "t")
        #expect(try Reference(parsing: "h:1/r:t").description == "h:1/r:t")
    }

    @Test func malformedReferencesNameTheBadPart() {
        let longTag = String(repeating: "a", count: 129)
        let cases: [(String, String)] = [
            ("127.0.0.1:5000/Aks/packages:v1", "'Aks'"),
            ("127.0.0.1:5000/aks//packages:v1", "empty path component"),
            ("127.0.0.1:5000/aks/packages:-v1", "tag '-v1'"),
            ("127.0.0.1:5000/aks/packages:\(longTag)", "tag '\(longTag)'"),
            ("127.0.0.1:5000/aks/packages:v1@sha256:abc", "64 lower-case hex"),
            ("127.0.0.1:5000/aks/packages@sha512:" + String(repeating: "a", count: 128), "only sha256"),
            ("127.0.0.1:5000/aks/packages@1sha:abc", "algorithm '1sha'"),
            ("127.0.0.1:99999/aks/packages:v1", "port '99999'"),
            ("bad_host:5000/aks:v1", "label 'bad_host'"),
            ("127.0.0.1:5000", "no repository"),
            ("127.0.0.1:5000/aks/packages", "neither a tag nor a digest"),
            ("127.0.0.1:5000/a-/b:v1", "'a-'"),
        ]
        for (text, fragment) in cases {
            do {
                _ = try Reference(parsing: text)
                Issue.record("\(text) parsed but should not")
            } catch let error as PkgfetchError {
                #expect(error.kind == .resolveFailed, "\(text)")
                #expect(error.message.contains(fragment), "\(text): \(error.message)")
            } catch {
                Issue.record("\(text): unexpected \(error)")
            }
        }
    }

    @Test func tagGrammarBoundaries() {
        #expect(Reference.isTag(String(repeating: "a", count: 128)))
        #expect(!Reference.isTag(String(repeating: "a", count: 129)))
        #expect(Reference.isTag("v1.6.20-windows_amd64"))
        #expect(!Reference.isTag(".hidden"))
        #expect(!Reference.isTag("a+b"))
        #expect(Reference.isPathComponent("a.b_c__d-e--f"))
        #expect(!Reference.isPathComponent("a..b"))
        #expect(!Reference.isPathComponent("a___b"))
        #expect(!Reference.isPathComponent("_a"))
    }
}
