import Foundation
import Pipeline
import Testing
import TestSupport
@testable import SourcesORAS

@Suite(.offPool) struct CredentialTests {
    func write(_ text: String, to path: String, executable: Bool = false) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path) }
    }

    @Test func dockerConfigAuthsInEveryForm() async throws {
        let dir = try TemporaryDirectory("docker-config")
        let auth = Data("alice:s3cr:et".utf8).base64EncodedString()
        try write("""
        {"auths": {
          "https://Reg.Example:5000/v1/": {"auth": "\(auth)"},
          "plain.example": {"username": "bob", "password": "pw"},
          "acr.example": {"auth": "", "identitytoken": "refresh-123"}
        }}
        """, to: dir.join("config.json"))
        let store = try DockerConfigCredentialStore(path: dir.join("config.json"))
        #expect(try await store.credential(for: "reg.example:5000") == .basic(username: "alice", password: "s3cr:et"))
        #expect(try await store.credential(for: "plain.example") == .basic(username: "bob", password: "pw"))
        #expect(try await store.credential(for: "acr.example") == .identityToken("refresh-123"))
        #expect(try await store.credential(for: "other.example") == nil)
    }

    @Test func brokenConfigIsAUsageErrorThatShowsNoSecret() async throws {
        let dir = try TemporaryDirectory("docker-config")
        try write("not json", to: dir.join("bad.json"))
        #expect(throws: PkgfetchError.self) { try DockerConfigCredentialStore(path: dir.join("bad.json")) }
        #expect(throws: PkgfetchError.self) { try DockerConfigCredentialStore(path: dir.join("missing.json")) }
        try write(#"{"auths": {"h": {"auth": "bm9jb2xvbg=="}}}"#, to: dir.join("bad-auth.json"))  // base64 of "nocolon"
        let store = try DockerConfigCredentialStore(path: dir.join("bad-auth.json"))
        let error = await #expect(throws: PkgfetchError.self) { try await store.credential(for: "h") }
        #expect(error?.message.contains("bm9jb2xvbg") == false)
        #expect(error?.message.contains("nocolon") == false)
    }

    @Test func credentialHelpersAndIdentityTokens() async throws {
        let dir = try TemporaryDirectory("helpers")
        // A helper in the Docker protocol: host on stdin, JSON on stdout; "not found" for unknown hosts.
        try write("""
        #!/bin/sh
        [ "$1" = get ] || exit 3
        read host
        case "$host" in
          helped.example) echo '{"ServerURL":"helped.example","Username":"carol","Secret":"helper-pw"}' ;;
          token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"refresh-xyz"}' ;;
          *) echo "credentials not found in native keychain"; exit 1 ;;
        esac
        """, to: dir.join("docker-credential-fake"), executable: true)
        try write("#!/bin/sh\nexit 7\n", to: dir.join("docker-credential-broken"), executable: true)
        try write("""
        {"credsStore": "fake", "credHelpers": {"broken.example": "broken", "missing.example": "nothere"},
         "auths": {"fallback.example": {"username": "dave", "password": "file-pw"}}}
        """, to: dir.join("config.json"))
        let store = try DockerConfigCredentialStore(path: dir.join("config.json")) {
            CredentialHelperStore(name: $0, searchPath: dir.path)
        }
        #expect(try await store.credential(for: "helped.example") == .basic(username: "carol", password: "helper-pw"))
        #expect(try await store.credential(for: "token.example") == .identityToken("refresh-xyz"))
        #expect(try await store.credential(for: "fallback.example") == .basic(username: "dave", password: "file-pw"))
        #expect(try await store.credential(for: "nobody.example") == nil)
        let broken = await #expect(throws: PkgfetchError.self) { try await store.credential(for: "broken.example") }
        #expect(broken?.kind == .registryUnauthorized)
        #expect(broken?.message.contains("exit status 7") == true)
        let missing = await #expect(throws: PkgfetchError.self) { try await store.credential(for: "missing.example") }
        #expect(missing?.message.contains("docker-credential-nothere") == true)
    }

    @Test func staticStoreIsBoundToItsHostAndHidesThePassword() async throws {
        let store = StaticCredentialStore(.basic(username: "u", password: "hunter2"), host: "https://Reg:5000")
        #expect(try await store.credential(for: "reg:5000") != nil)
        #expect(try await store.credential(for: "other:5000") == nil)
        #expect(!"\(Credential.basic(username: "u", password: "hunter2"))".contains("hunter2"))
        #expect(!"\(Credential.identityToken("tok-secret"))".contains("tok-secret"))
        let chain = CredentialChain([AnonymousCredentialStore(), store])
        #expect(try await chain.credential(for: "reg:5000") == .basic(username: "u", password: "hunter2"))
    }

    @Test func defaultConfigPathFollowsDockerConfigThenHome() throws {
        let dir = try TemporaryDirectory("docker-home")
        try FileManager.default.createDirectory(atPath: dir.join("home/.docker"), withIntermediateDirectories: true)
        try write("{}", to: dir.join("home/.docker/config.json"))
        try FileManager.default.createDirectory(atPath: dir.join("dc"), withIntermediateDirectories: true)
        #expect(DockerConfigCredentialStore.defaultPath(environment: ["HOME": dir.join("home"), "DOCKER_CONFIG": dir.join("dc")])
                == dir.join("home/.docker/config.json"))
        try write("{}", to: dir.join("dc/config.json"))
        #expect(DockerConfigCredentialStore.defaultPath(environment: ["HOME": dir.join("home"), "DOCKER_CONFIG": dir.join("dc")])
                == dir.join("dc/config.json"))
        #expect(DockerConfigCredentialStore.defaultPath(environment: [:]) == nil)
    }

    @Test func cachingStoreAsksOncePerHost() async throws {
        final class Counting: CredentialStore, @unchecked Sendable {
            let calls = ThreadSafeBox(0)
            func credential(for host: String) async throws -> Credential? {
                calls.mutate { $0 += 1 }
                return host == "a" ? .basic(username: "u", password: "p") : nil
            }
        }
        let counting = Counting()
        let cache = CachingCredentialStore(counting)
        for _ in 0..<3 {
            #expect(try await cache.credential(for: "a") != nil)
            #expect(try await cache.credential(for: "b") == nil)
        }
        #expect(counting.calls.value == 2)
    }
}
