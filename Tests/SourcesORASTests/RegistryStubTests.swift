import Crypto
import Foundation
import Pipeline
import PipelineTesting
import Testing
import TestSupport
@testable import SourcesORAS

/// Behaviour no real registry shows on demand: blob redirects to another host, cut transfers,
/// throttling, oversized or lying manifests. A stub registry front plays them.
@Suite(.offPool) struct RegistryStubTests {
    static let blob = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
    static let blobDigest = "sha256:" + SHA256.hash(data: blob).map { String(format: "%02x", $0) }.joined()
    static let basic = "Basic " + Data("user:stub-secret".utf8).base64EncodedString()

    static func manifest(title: String = "pkg.zip") -> Data {
        let object: [String: Any] = [
            "schemaVersion": 2, "mediaType": MediaType.ociManifest,
            "config": ["mediaType": "application/vnd.unknown.config.v1+json", "digest": "sha256:" + String(repeating: "0", count: 64), "size": 2],
            "layers": [["mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": blobDigest, "size": blob.count,
                        "annotations": [Annotation.title: title]]],
        ]
        return try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    @Test func blobRedirectCarriesNoAuthorizationAndResumeAsksTheRegistryAgain() async throws {
        let work = try TemporaryDirectory("redirect")
        let storageHits = ThreadSafeBox(0)
        let storage = try StubHTTPServer { request in
            let hit = storageHits.mutate { value -> Int in value += 1; return value }
            let blob = RegistryStubTests.blob
            if let range = request.header("Range"), range.hasPrefix("bytes="), let start = Int(range.dropFirst(6).dropLast()) {
                return StubResponse(status: 206, headers: [("Content-Range", "bytes \(start)-\(blob.count - 1)/\(blob.count)")],
                                    body: blob.subdata(in: start..<blob.count))
            }
            // The first transfer is cut half way.
            return StubResponse(status: 200, body: blob, cutAfter: hit == 1 ? blob.count / 2 : nil)
        }
        let storageURL = storage.url
        let registry = try StubHTTPServer { request in
            guard request.header("Authorization") == RegistryStubTests.basic else {
                return StubResponse(status: 401, headers: [("WWW-Authenticate", #"Basic realm="stub, registry""#)])
            }
            if request.path.hasSuffix("/manifests/v1") {
                return StubResponse(status: 200, headers: [("Content-Type", MediaType.ociManifest)], body: RegistryStubTests.manifest())
            }
            if request.path.hasSuffix("/blobs/\(RegistryStubTests.blobDigest)") {
                return StubResponse(status: 307, headers: [("Location", "\(storageURL)/bucket/blob?sig=signed-secret")])
            }
            return StubResponse(status: 404)
        }
        let fetcher = ORASFetcher.make(credentials: StaticCredentialStore(.basic(username: "user", password: "stub-secret")))
        let run = SingleSourceRun(fetcher: fetcher, source: Source(scheme: "oci", location: "127.0.0.1:\(registry.port)/pkgs/thing:v1"),
                                  fileName: "pkg.zip")
        let pulled = try await run.run(installingTo: work.join("pkg.zip"))
        #expect(pulled.digest.description == Self.blobDigest)
        #expect(run.events.events.filter { $0.task == "resume" }.map(\.bytes) == [Int64(Self.blob.count / 2)])

        let blobRequests = registry.requests.filter { $0.path.contains("/blobs/") }
        #expect(blobRequests.count == 2, "the resume goes back to the registry URL, not to the storage URL")
        #expect(blobRequests.allSatisfy { $0.header("Authorization") == Self.basic })
        #expect(blobRequests.last?.header("Range") == "bytes=\(Self.blob.count / 2)-")
        let stored = storage.requests
        #expect(stored.count == 2)
        #expect(stored.allSatisfy { $0.header("Authorization") == nil }, "Authorization leaked to another host: \(stored.map(\.headers))")
        #expect(stored.allSatisfy { $0.target.contains("sig=signed-secret") })
        // Basic was learned on the manifest's 401; the blob requests sent it up front.
        #expect(registry.requests.filter { $0.header("Authorization") == nil }.count == 1)
    }

    /// A registry whose first blob answer is cut at a third and whose resume (within the attempt) meets a
    /// 503; with `moveTag`, the tag names another blob (the same size) from then on.
    func flakyRegistry(moveTag: Bool) throws -> (StubHTTPServer, otherDigest: String) {
        let other = Data(RegistryStubTests.blob.reversed())
        let otherDigest = "sha256:" + SHA256.hash(data: other).map { String(format: "%02x", $0) }.joined()
        let moved = ThreadSafeBox(false)
        let blobHits = ThreadSafeBox(0)
        let registry = try StubHTTPServer { request in
            if request.path.hasSuffix("/manifests/v1") {
                var body = RegistryStubTests.manifest()
                if moved.value {
                    body = Data(String(decoding: body, as: UTF8.self).replacingOccurrences(of: RegistryStubTests.blobDigest, with: otherDigest).utf8)
                }
                return StubResponse(status: 200, headers: [("Content-Type", MediaType.ociManifest)], body: body)
            }
            let content = request.path.hasSuffix(otherDigest) ? other : RegistryStubTests.blob
            let hit = blobHits.mutate { value -> Int in value += 1; return value }
            if let range = request.header("Range"), let start = Int(range.dropFirst(6).dropLast()) {
                // The first resume, within attempt 1, meets a 503: the attempt fails, retryably.
                if hit == 2 {
                    if moveTag { moved.value = true }
                    return StubResponse(status: 503)
                }
                return StubResponse(status: 206, headers: [("Content-Range", "bytes \(start)-\(content.count - 1)/\(content.count)")],
                                    body: content.subdata(in: start..<content.count))
            }
            return StubResponse(status: 200, body: content, cutAfter: hit == 1 || hit == 3 ? content.count / 3 : nil)
        }
        return (registry, otherDigest)
    }

    /// Through the runner: a cut blob is resumed within the attempt, then by the next attempt, from the
    /// kept third, since the blob's digest (its validator) is the same.
    @Test func aLaterAttemptResumesItsOwnBlob() async throws {
        let work = try TemporaryDirectory("resume")
        let (registry, _) = try flakyRegistry(moveTag: false)
        let run = SingleSourceRun(fetcher: ORASFetcher.make(), source: Source(scheme: "oci", location: "127.0.0.1:\(registry.port)/r:v1"),
                                  fileName: "pkg.zip")
        let result = try await run.run(installingTo: work.join("pkg.zip"))
        #expect(result.digest.description == Self.blobDigest)
        let third = Self.blob.count / 3
        #expect(registry.requests.filter { $0.path.contains("/blobs/") }.map { $0.header("Range") } == [nil, "bytes=\(third)-", "bytes=\(third)-"])
        #expect(run.events.events.filter { $0.task == "fetch" }.map { "\($0.outcome) \($0.error ?? "-")" } == ["retry oras-pull-failed", "ok -"])
        #expect(run.events.events.filter { $0.task == "resume" }.map(\.bytes) == [Int64(third)])
    }

    /// The tag moved to another blob between attempts: the kept bytes are not taken for it; the new
    /// blob starts over (then its own cut is resumed within the attempt as usual).
    @Test func aLaterAttemptRestartsForAnotherBlob() async throws {
        let work = try TemporaryDirectory("restart")
        let (registry, otherDigest) = try flakyRegistry(moveTag: true)
        let run = SingleSourceRun(fetcher: ORASFetcher.make(), source: Source(scheme: "oci", location: "127.0.0.1:\(registry.port)/r:v1"),
                                  fileName: "pkg.zip")
        let result = try await run.run(installingTo: work.join("pkg.zip"))
        #expect(result.digest.description == otherDigest)
        let third = Self.blob.count / 3
        #expect(registry.requests.filter { $0.path.hasSuffix(Self.blobDigest) }.map { $0.header("Range") } == [nil, "bytes=\(third)-"])
        #expect(registry.requests.filter { $0.path.hasSuffix(otherDigest) }.map { $0.header("Range") } == [nil, "bytes=\(third)-"])
    }

    @Test func failuresAreClassifiedForTheRunner() async throws {
        let work = try TemporaryDirectory("failures")
        let server = try StubHTTPServer { request in
            switch request.path.split(separator: "/").last.map(String.init) ?? "" {
            case "throttled": StubResponse(status: 429, headers: [("Retry-After", "7")])
            case "unavailable": StubResponse(status: 503, headers: [("Retry-After", "3")])
            case "broken": StubResponse(status: 500)
            case "forbidden": StubResponse(status: 403)
            case "huge": StubResponse(status: 200, headers: [("Content-Type", MediaType.ociManifest)], body: Data(count: 5 << 20))
            case "lying":
                StubResponse(status: 200, headers: [("Content-Type", MediaType.ociManifest),
                                                    ("Docker-Content-Digest", "sha256:" + String(repeating: "1", count: 64))],
                             body: RegistryStubTests.manifest())
            case "ambiguous":
                StubResponse(status: 200, headers: [("Content-Type", MediaType.ociManifest)], body: RegistryStubTests.manifest(title: "other.zip"))
            case "evil":
                StubResponse(status: 200, headers: [("Content-Type", MediaType.ociManifest)], body: RegistryStubTests.manifest(title: "../../etc/cron.d/x"))
            default: StubResponse(status: 404, body: Data(#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#.utf8))
            }
        }
        func failure(_ tag: String) async -> PkgfetchError? {
            await pkgfetchError { _ = try await pull(.make(), "127.0.0.1:\(server.port)/r:\(tag)", fileName: "pkg.zip", into: work, name: tag) }
        }
        let throttled = await failure("throttled")
        #expect(throttled?.kind == .orasPullFailed)
        #expect(throttled?.retryable == true)
        #expect(throttled?.retryAfter == .seconds(7))
        let unavailable = await failure("unavailable")
        #expect(unavailable?.retryable == true)
        #expect(unavailable?.retryAfter == .seconds(3))
        #expect(await failure("broken")?.retryable == true)
        let forbidden = await failure("forbidden")
        #expect(forbidden?.kind == .registryUnauthorized)
        #expect(forbidden?.retryable == false)
        let missing = await failure("missing")
        #expect(missing?.kind == .artifactNotFound)
        #expect(missing?.retryable == false)
        let huge = await failure("huge")
        #expect(huge?.kind == .orasPullFailed)
        #expect(huge?.retryable == false)
        #expect(await failure("lying")?.kind == .integrityMismatch)
        // One titled layer under another name is taken (documented); a path title is refused.
        let ambiguous = await failure("ambiguous")
        #expect(ambiguous?.kind == .artifactNotFound, "the layer was chosen, then its blob was missing: \(String(describing: ambiguous))")
        #expect(await failure("evil")?.kind == .unsafeArchive)

        // Nothing listening: a connection failure, retryable.
        let closed = try Ports.free()
        let refused = await pkgfetchError { _ = try await pull(.make(), "127.0.0.1:\(closed)/r:v1", fileName: "pkg.zip", into: work, name: "closed") }
        #expect(refused?.kind == .orasPullFailed)
        #expect(refused?.retryable == true)
    }

    @Test func blobLargerThanItsDescriptorIsCutOffWhileStreaming() async throws {
        let work = try TemporaryDirectory("oversized")
        let oversized = Self.blob + Data(count: 8 << 20)
        let sent = ThreadSafeBox(0)
        let registry = try StubHTTPServer { request in
            if request.path.hasSuffix("/manifests/v1") {
                return StubResponse(status: 200, headers: [("Content-Type", MediaType.ociManifest)], body: RegistryStubTests.manifest())
            }
            sent.value = oversized.count
            return StubResponse(status: 200, body: oversized)
        }
        let progress = RecordingProgress()
        let run = SingleSourceRun(fetcher: ORASFetcher.make(), source: Source(scheme: "oci", location: "127.0.0.1:\(registry.port)/pkgs/thing:v1"),
                                  fileName: "pkg.zip", progress: progress)
        let failure = await pkgfetchError { try await run.run(installingTo: work.join("pkg.zip")) }
        #expect(failure?.kind == .integrityMismatch)
        #expect(failure?.message.contains("more than the \(Self.blob.count) bytes it announced") == true, "\(String(describing: failure))")
        // The staging file never grew past the descriptor's size.
        let staged = progress.calls.compactMap { $0.hasPrefix("advanced ") ? Int($0.dropFirst(9)) : nil }
        #expect(staged.max() ?? 0 <= Self.blob.count)
        #expect(!FileManager.default.fileExists(atPath: work.join("pkg.zip")))
    }

    @Test func tokenRealmMustBeHTTP() async throws {
        let service = TokenService(transport: .init())
        let challenge = AuthChallenge(scheme: .bearer, parameters: ["realm": "ftp://127.0.0.1/token", "service": "s"])
        let error = await pkgfetchError {
            _ = try await service.token(challenge: challenge, registryScheme: "http", scopes: [], credential: nil, deadline: nil, what: "r")
        }
        #expect(error?.kind == .registryUnauthorized)
        #expect(error?.message.contains("not http(s)") == true)
        #expect(TokenService.formEncode([("scope", "repository:a/b:pull"), ("x", "a b&c")]) == "scope=repository%3Aa%2Fb%3Apull&x=a%20b%26c")
    }
}
