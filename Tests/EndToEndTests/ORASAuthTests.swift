import Foundation
import Testing
import TestSupport

/// The CLI's registry credentials against real authenticating registries.
@Suite(.offPool) struct ORASAuthTests {
    typealias E = ORASEndToEnd

    /// An open registry with the CNI zip pushed, for a secured registry to serve from the same storage.
    func seeded(_ work: TemporaryDirectory) throws -> (TestRegistry, String) {
        let seed = try TestRegistry()
        let file = try E.packageFile(size: 1 << 20, seed: 10, in: work)
        try seed.pushWithORAS(file, repository: E.cniRepository, tag: "v1.6.20")
        return (seed, file)
    }

    @Test func basicAuthOverTLSWithPasswordStdinAndCAFile() throws {
        let work = try TemporaryDirectory("e2e-basic")
        let (seed, file) = try seeded(work)
        let ca = try TestCA()
        let registry = try TestRegistry(auth: .htpasswd(users: ["bob": "bob-pw"]), tls: ca, root: seed.root)
        let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", "https://\(registry.host)", "--ca-file", ca.certificatePath,
                                       "--username", "bob", "--password-stdin", "--output", work.join("out.zip")],
                                      environment: E.environment(home: work.path), stdin: Data("bob-pw\n".utf8))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("out.zip")) == (try Files.sha256(file)))

        // --insecure instead of the CA: works, and says so; neither: a TLS failure (30).
        let insecure = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", "https://\(registry.host)", "--insecure",
                                            "--username", "bob", "--password-stdin", "--output", work.join("insecure.zip")],
                                           environment: E.environment(home: work.path), stdin: Data("bob-pw\n".utf8))
        #expect(insecure.status == 0, "\(insecure.stderr)")
        #expect(insecure.stderr.contains("--insecure"))
        let untrusted = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", "https://\(registry.host)", "--retries", "0",
                                             "--username", "bob", "--password-stdin", "--output", work.join("untrusted.zip")],
                                            environment: E.environment(home: work.path), stdin: Data("bob-pw\n".utf8))
        #expect(untrusted.status == 30, "\(untrusted.stderr)")
    }

    @Test func wrongPasswordExits31AndTheSecretAppearsNowhere() throws {
        let work = try TemporaryDirectory("e2e-wrong")
        let (seed, _) = try seeded(work)
        let ca = try TestCA()
        let registry = try TestRegistry(auth: .htpasswd(users: ["bob": "bob-pw"]), tls: ca, root: seed.root)
        let secret = "Wr0ng-Secret-Value-71"
        let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", "https://\(registry.host)", "--ca-file", ca.certificatePath,
                                       "--username", "bob", "--password-stdin", "--output", work.join("out.zip"), "--verbose",
                                       "--events", work.join("events.jsonl")],
                                      environment: E.environment(home: work.path), stdin: Data((secret + "\n").utf8))
        #expect(run.status == 31, "\(run.stderr)")
        #expect(run.stderr.contains("error[registry-unauthorized]"))
        let events = try String(contentsOfFile: work.join("events.jsonl"), encoding: .utf8)
        let encoded = Data("bob:\(secret)".utf8).base64EncodedString()
        for text in [run.stdout, run.stderr, events] {
            #expect(!text.contains(secret))
            #expect(!text.contains(encoded))
        }
        // Not retried: a refused credential will be refused again.
        #expect(E.events(work.join("events.jsonl")).filter { $0["task"] as? String == "fetch" }.count == 1)
        let json = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", "https://\(registry.host)", "--ca-file", ca.certificatePath,
                                        "--username", "bob", "--password-stdin", "--output", work.join("out.zip"), "--json"],
                                       environment: E.environment(home: work.path), stdin: Data(secret.utf8))
        #expect(json.status == 31)
        #expect(!json.stdout.contains(secret) && !json.stderr.contains(secret))
    }

    @Test func credentialsFromRegistryConfigDockerConfigAndAHelper() throws {
        let work = try TemporaryDirectory("e2e-config")
        let (seed, file) = try seeded(work)
        let registry = try TestRegistry(auth: .htpasswd(users: ["carol": "carol-pw"]), root: seed.root)
        let auth = Data("carol:carol-pw".utf8).base64EncodedString()
        try #"{"auths": {"\#(registry.host)": {"auth": "\#(auth)"}}}"#.write(toFile: work.join("config.json"), atomically: true, encoding: .utf8)
        let flag = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--registry-config", work.join("config.json"),
                                        "--output", work.join("flag.zip")], environment: E.environment(home: work.path))
        #expect(flag.status == 0, "\(flag.stderr)")
        #expect(try Files.sha256(work.join("flag.zip")) == (try Files.sha256(file)))

        // $DOCKER_CONFIG/config.json naming a credential helper on PATH.
        try FileManager.default.createDirectory(atPath: work.join("dc"), withIntermediateDirectories: true)
        try #"{"credHelpers": {"\#(registry.host)": "test"}}"#.write(toFile: work.join("dc/config.json"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: work.join("bin"), withIntermediateDirectories: true)
        try """
        #!/bin/sh
        read host
        [ "$host" = "\(registry.host)" ] || { echo "credentials not found in native keychain"; exit 1; }
        echo '{"ServerURL":"'$host'","Username":"carol","Secret":"carol-pw"}'
        """.write(toFile: work.join("bin/docker-credential-test"), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.join("bin/docker-credential-test"))
        let helper = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--output", work.join("helper.zip")],
                                         environment: E.environment(home: work.path, path: work.join("bin") + ":/usr/bin:/bin",
                                                                    extra: ["DOCKER_CONFIG": work.join("dc")]))
        #expect(helper.status == 0, "\(helper.stderr)")

        // No credentials anywhere: 31, saying none are configured.
        let anonymous = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--output", work.join("anon.zip")],
                                            environment: E.environment(home: work.path))
        #expect(anonymous.status == 31, "\(anonymous.stderr)")
        #expect(anonymous.stderr.contains("no credentials are configured"))
    }

    /// What a fetch helper left behind is ended when it exits, and nothing else: a credential helper
    /// running meanwhile is left alone. The fetch helper ends while the credential helper is still at work.
    @Test func aHelpersSweepLeavesARunningCredentialHelperAlone() throws {
        let work = try TemporaryDirectory("e2e-sweep")
        let (seed, file) = try seeded(work)
        let registry = try TestRegistry(auth: .htpasswd(users: ["carol": "carol-pw"]), root: seed.root)
        let asked = work.join("credential-helper-started")
        for directory in ["dc", "bin", "helpers"] {
            try FileManager.default.createDirectory(atPath: work.join(directory), withIntermediateDirectories: true)
        }
        try #"{"credHelpers": {"\#(registry.host)": "slow"}}"#.write(toFile: work.join("dc/config.json"), atomically: true, encoding: .utf8)
        let scripts = [
            "bin/docker-credential-slow": """
            #!/bin/sh
            read host
            touch \(asked)
            sleep 1
            echo '{"ServerURL":"'$host'","Username":"carol","Secret":"carol-pw"}'
            """,
            // Waits (10 s at most) until the credential helper runs, then ends: its sweep falls in that second.
            "helpers/pkgfetch-fetch-quick": """
            #!/bin/sh
            i=0; while [ ! -e \(asked) ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
            printf hello
            """,
        ]
        for (path, script) in scripts {
            try script.write(toFile: work.join(path), atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.join(path))
        }
        let list: [[String: String]] = [["url": E.cniURL, "output": work.join("cni.zip")], ["url": "quick://b/x", "output": work.join("quick")]]
        try JSONSerialization.data(withJSONObject: list).write(to: URL(fileURLWithPath: work.join("list")))
        let run = try PkgfetchCLI.run(["batch", work.join("list"), "--bootstrap-registry", registry.host, "--helpers-dir", work.join("helpers"),
                                       "--retries", "0"],
                                      environment: E.environment(home: work.path, path: work.join("bin") + ":/usr/bin:/bin",
                                                                 extra: ["DOCKER_CONFIG": work.join("dc")]))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("cni.zip")) == (try Files.sha256(file)))
        #expect(try String(contentsOfFile: work.join("quick"), encoding: .utf8) == "hello")
    }

    @Test func tokenAuthUsesOneTokenForIndexManifestAndBlob() throws {
        let work = try TemporaryDirectory("e2e-token")
        let seed = try TestRegistry()
        let windows = try E.packageFile(seed: 12, in: work)
        var entries: [(digest: String, size: Int, mediaType: String, platform: [String: String])] = []
        for (os, path) in [("linux", try E.packageFile("azure-vnet-cni-linux-amd64-v1.6.20.tgz", seed: 14, in: work)), ("windows", windows)] {
            try seed.pushWithORAS(path, repository: E.cniRepository, tag: "v1.6.20-\(os)")
            let manifest = try seed.manifest(repository: E.cniRepository, reference: "v1.6.20-\(os)")
            entries.append((manifest.digest, manifest.body.count, manifest.mediaType, ["os": os, "architecture": "amd64"]))
        }
        try seed.putManifest(TestRegistry.index(entries), mediaType: "application/vnd.oci.image.index.v1+json",
                             repository: E.cniRepository, tag: "v1.6.20")
        let issuer = try TokenServer(users: ["alice": "alice-pw"])
        let registry = try TestRegistry(auth: .token(issuer), root: seed.root)

        let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--username", "alice", "--password-stdin",
                                       "--output", work.join("out.zip"), "--events", work.join("events.jsonl")],
                                      environment: E.environment(home: work.path), stdin: Data("alice-pw".utf8))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("out.zip")) == (try Files.sha256(windows)))
        #expect(E.events(work.join("events.jsonl")).filter { $0["task"] as? String == "oci-manifest" }.count == 2)
        #expect(issuer.requests.count == 1, "\(issuer.requests)")
        #expect(issuer.requests.first?.scopes == ["repository:\(E.cniRepository):pull"])
        #expect(issuer.requests.first?.user == "alice")

        let denied = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--output", work.join("denied.zip")],
                                         environment: E.environment(home: work.path))
        #expect(denied.status == 31, "\(denied.stderr)")
    }
}
