import Foundation
import Pipeline
import SourcesORAS
import Testing
import TestSupport

/// hosts.toml as containerd reads it: the strict TOML subset, the meaning of each key, and the
/// directory lookup. The fetches themselves are in EndToEndTests/MirrorTests.
@Suite struct HostsFileTests {
    static let namespace = "registry.example:5000"

    static func hosts(_ text: String, namespace: String = namespace) throws -> [RegistryHost] {
        try RegistryHosts(directory: nil).hosts(parsing: Array(text.utf8), file: "/etc/containerd/certs.d/x/hosts.toml", namespace: namespace)
    }

    static func refusal(_ text: String) -> String {
        do {
            _ = try hosts(text)
            return "(accepted)"
        } catch let failure as PkgfetchError {
            #expect(failure.kind == .usage)
            return failure.message
        } catch {
            return "\(error)"
        }
    }

    @Test func hostsInFileOrderThenTheServerWithContainerdPaths() throws {
        let hosts = try Self.hosts("""
        # comment
        server = "https://registry.example:5000"

        [host."https://zeta.example"]
          capabilities = ["pull"]
        [host."http://alpha.example:8080/cache/"]
          capabilities = ["pull", "resolve"]
        [host."mirror.example/v2"]
        [host."https://root.example/api/"]
          override_path = true
        """)
        #expect(hosts.map { "\($0.origin)\($0.path)" } == ["https://zeta.example/v2", "http://alpha.example:8080/cache/v2",
                                                          "https://mirror.example/v2", "https://root.example/api",
                                                          "https://registry.example:5000/v2"])
        #expect(hosts.map(\.isMirror) == [true, true, true, true, false])
        #expect(hosts[0].capabilities == .pull)
        #expect(hosts[1].capabilities == [.pull, .resolve])
        #expect(hosts[2].capabilities == .all, "no capabilities: all of them, as containerd")
        #expect(hosts[0].url(repository: "aks/pkg", "blobs/sha256:ab") == "https://zeta.example/v2/aks/pkg/blobs/sha256:ab?ns=registry.example%3A5000")
        #expect(hosts[4].url(repository: "aks/pkg", "manifests/v1") == "https://registry.example:5000/v2/aks/pkg/manifests/v1")
    }

    @Test func noServerMeansTheRegistryItselfLastWithTheRootSettings() throws {
        let hosts = try Self.hosts("""
        capabilities = ["pull", "resolve"]
        skip_verify = true
        dial_timeout = "1m30s"
        [host."https://a.example"]
        """)
        #expect(hosts.count == 2)
        #expect(hosts[1].host == Self.namespace && hosts[1].path == "/v2" && !hosts[1].isMirror)
        #expect(hosts[1].tls.skipVerify == true && hosts[1].dialTimeout == .seconds(90))
        #expect(hosts[1].capabilities == [.pull, .resolve])
        let docker = try Self.hosts("", namespace: "docker.io")
        #expect(docker.map(\.origin) == ["https://registry-1.docker.io"] && !docker[0].isMirror)
    }

    @Test func tlsHeadersAndTimeoutsPerHost() throws {
        let hosts = try Self.hosts("""
        [host."https://a.example"]
          ca = "mirror.pem"
          client = [["/etc/certs/c.cert", "c.key"], "/etc/certs/both.pem"]
          dial_timeout = '200ms'
          [host."https://a.example".header]
            x-one = "1"
            X-Many = ["a", "b"]
        [host."https://b.example"]
          ca = ["/abs/one.pem", "two.pem"]
          client = "only.pem"
        """)
        #expect(hosts[0].tls.caFiles == ["/etc/containerd/certs.d/x/mirror.pem"])
        #expect(hosts[0].tls.clientPairs.map { [$0.certificate, $0.key] } == [["/etc/certs/c.cert", "/etc/containerd/certs.d/x/c.key"], ["/etc/certs/both.pem", ""]])
        #expect(hosts[0].dialTimeout == .milliseconds(200))
        #expect(hosts[0].headers.fields.map { "\($0.name): \($0.value)" } == ["x-one: 1", "X-Many: a", "X-Many: b"])
        #expect(hosts[1].tls.caFiles == ["/abs/one.pem", "/etc/containerd/certs.d/x/two.pem"])
        #expect(hosts[1].tls.clientPairs.map(\.certificate) == ["/etc/containerd/certs.d/x/only.pem"])
        #expect(hosts[2].tls.isDefault && hosts[2].headers.fields.isEmpty)
    }

    @Test func unknownKeysAreIgnoredAsContainerdDoes() throws {
        let hosts = try Self.hosts("future_key = 1\n[host.\"https://a.example\"]\nsomething_new = [\"x\"]\n")
        #expect(hosts.count == 2)
    }

    /// Each refusal is one line naming the file and what is wrong, never a guess.
    @Test(arguments: [
        ("capabilities = [\"pull\", \"fly\"]\n", "unknown capability 'fly'"),
        ("server = \"ftp://a\"\n", "host 'ftp:' is not host[:port]"),
        ("server = \"HTTPS://a\"\n", "server: host 'HTTPS:' is not host[:port]"),
        ("server = \"httpx://a\"\n", "server: scheme must be http or https"),
        ("server = \"https://a:99999\"\n", "is not host[:port]"),
        ("server = \"https://user@a\"\n", "is not host[:port]"),
        ("server = \"https://a/x/../y\"\n", "path component '..' refused"),
        ("server = \"https://a/?q=1\"\n", "a query or fragment"),
        ("[header]\nx = \"a\\r\\nInjected: 1\"\n", "control character"),
        ("[header]\n\"bad name\" = \"v\"\n", "not an HTTP token"),
        ("dial_timeout = \"soon\"\n", "not a positive duration"),
        ("skip_verify = \"yes\"\n", "must be true or false"),
        ("ca = 5\n", "must be an array of strings"),
        ("client = [[\"only-one\"]]\n", "a client pair is [certificate, key]"),
        ("host = \"x\"\n", "'host' must be a table"),
        ("server = \"a\"\nserver = \"b\"\n", "line 2: key 'server' defined twice"),
        ("[host.\"a\"]\n[host.\"a\"]\n", "line 2: table [host.a] defined twice"),
        ("header = { x = \"1\" }\n", "inline tables"),
        ("server = \"\"\"a\"\"\"\n", "multi-line strings"),
        ("server = \"a\n", "line 1: control character in a string"),
        ("server = \"a\u{1B}[2Jb\"\n", "control character in a string"),
        ("server = 'a' extra\n", "after a value"),
        ("capabilities = [\"pull\"\n", "array not closed"),
        ("server = \"a\\q\"\n", "unknown escape"),
        ("[[host]]\n", "arrays of tables"),
        ("skip_verify = 1.5\n", "is not a string, boolean, integer or array"),
        ("a.b = 1\na.b.c = 2\n", "is a value, not a table"),
        ("x = [[[[[[[[[[1]]]]]]]]]]\n", "nested deeper"),
        ("server = \"a\"\r\r\n", "carriage return without line feed"),
    ])
    func refusedWithTheReason(text: String, reason: String) {
        let message = Self.refusal(text)
        #expect(message.contains(reason), "\(message)")
        #expect(message.contains("/etc/containerd/certs.d/x/hosts.toml"))
        #expect(!message.contains("\n") && !message.contains("\u{1B}"))
    }

    @Test func bytesThatAreNotUTF8OrTooManyAreRefused() {
        #expect(throws: HostsTOML.SyntaxError.self) { try HostsTOML.parse([0x73, 0x3D, 0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: HostsTOML.SyntaxError.self) { try HostsTOML.parse(Array(repeating: 0x20, count: HostsTOML.maxSize + 1)) }
        let keys = (0..<1100).map { "k\($0) = 1" }.joined(separator: "\n")
        #expect(Self.refusal(keys).contains("more than 1024 keys"))
        #expect(Self.refusal((0..<40).map { "a\($0)" }.joined(separator: ".") + " = 1").contains("more than 16 parts"))
    }

    @Test func escapesLiteralStringsIntegersAndCRLF() throws {
        let table = try HostsTOML.parse(Array("a = \"\\u00e9\\t\\\"\"\r\nb = 'C:\\path'\r\nc = -1_000\nd = [ 1, # one\n 2, ]\n\"q.k\".x = true\n".utf8))
        #expect(table["a"] == .string("é\t\""))
        #expect(table["b"] == .string("C:\\path"))
        #expect(table["c"] == .integer(-1000))
        #expect(table["d"] == .array([.integer(1), .integer(2)]))
        guard case .table(let quoted)? = table["q.k"] else { Issue.record("dotted quoted key"); return }
        #expect(quoted["x"] == .bool(true))
    }

    @Test func lookupOrderIsHostPortUnderscoreThenHostColonPortThenDefault() throws {
        #expect(RegistryHosts.candidates(root: "/d", namespace: "myregistry.io:5000") == ["/d/myregistry.io_5000_", "/d/myregistry.io:5000", "/d/_default"])
        #expect(RegistryHosts.candidates(root: "/d", namespace: "myregistry.io") == ["/d/myregistry.io", "/d/_default"])

        let root = try TemporaryDirectory("hosts-lookup")
        func write(_ directory: String, _ text: String) throws {
            try FileManager.default.createDirectory(atPath: root.join(directory), withIntermediateDirectories: true)
            try text.write(toFile: root.join(directory + "/hosts.toml"), atomically: true, encoding: .utf8)
        }
        try write("_default", "[host.\"https://default.example\"]\n")
        #expect(try RegistryHosts(directory: root.path).load("r.example:5000").first?.host == "default.example")
        try write("r.example:5000", "[host.\"https://colon.example\"]\n")
        #expect(try RegistryHosts(directory: root.path).load("r.example:5000").first?.host == "colon.example")
        try write("r.example_5000_", "[host.\"https://underscore.example\"]\n")
        #expect(try RegistryHosts(directory: root.path).load("r.example:5000").first?.host == "underscore.example")
        #expect(try RegistryHosts(directory: nil).load("r.example:5000").map(\.host) == ["r.example:5000"])
        #expect(try RegistryHosts(directory: "").load("r.example:5000").map(\.host) == ["r.example:5000"])
        #expect(try RegistryHosts(directory: root.join("absent")).load("r.example:5000").map(\.host) == ["r.example:5000"])
    }

    @Test func directoryWithoutHostsTomlUsesDockerCertificateFiles() throws {
        let root = try TemporaryDirectory("hosts-certs")
        let directory = root.join("r.example")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in ["ca.crt", "client.cert", "client.key", "notes.txt"] {
            try "x".write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        }
        let hosts = try RegistryHosts(directory: root.path).load("r.example")
        #expect(hosts.count == 1 && hosts[0].host == "r.example")
        #expect(hosts[0].tls.caFiles == [directory + "/ca.crt"])
        #expect(hosts[0].tls.clientPairs.map { [$0.certificate, $0.key] } == [[directory + "/client.cert", directory + "/client.key"]])
    }

    @Test func aFifoOrAnUnreadableCAIsRefusedNotWaitedOn() throws {
        let root = try TemporaryDirectory("hosts-fifo")
        let directory = root.join("r.example")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        #expect(mkfifo(directory + "/hosts.toml", 0o600) == 0)
        #expect(throws: PkgfetchError.self) { try RegistryHosts(directory: root.path).load("r.example") }
        try FileManager.default.removeItem(atPath: directory + "/hosts.toml")
        try "[host.\"https://m.example\"]\nca = \"missing.pem\"\n".write(toFile: directory + "/hosts.toml", atomically: true, encoding: .utf8)
        let refused = #expect(throws: PkgfetchError.self) { try RegistryHosts(directory: root.path).load("r.example") }
        #expect(refused?.message.contains("cannot read \(directory)/missing.pem") == true, "\(String(describing: refused))")
    }
}
