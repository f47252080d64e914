import Foundation
import AKS
import Pipeline
import Testing

@Suite struct CDNURLResolverTests {
    let resolver = try! CDNURLResolver(builtIns: BuiltInRules.all)

    func plan(_ url: String, registry: String? = "myacr.azurecr.io", fallback: Bool = false) throws -> Plan {
        try resolver.resolve(PackageRequest(url: url, bootstrapRegistry: try registry.map(RegistryAddress.init(parsing:)),
                                            fallbackToCDN: fallback, target: .file(path: "/tmp/x")))
    }

    @Test(arguments: [
        ("https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip",
         "myacr.azurecr.io/aks/packages/azure/azure-vnet-cni:v1.6.20"),
        ("https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-swift-windows-amd64-v1.6.20.zip",
         "myacr.azurecr.io/aks/packages/azure/azure-vnet-cni-swift:v1.6.20"),
        ("https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-overlay-windows-amd64-v1.6.20.zip",
         "myacr.azurecr.io/aks/packages/azure/azure-vnet-cni-overlay:v1.6.20"),
        ("https://packages.aks.azure.com/azure-cni/v1.6.21/binaries/azure-vnet-cni-singletenancy-overlay-windows-amd64-v1.6.21.zip",
         "myacr.azurecr.io/aks/packages/azure/azure-vnet-cni-singletenancy-overlay:v1.6.21"),
        ("https://packages.aks.azure.com/azure-cni/v1.6.1-hotfix20241024ApipaGW/binaries/azure-vnet-cni-windows-amd64-v1.6.1-hotfix20241024ApipaGW.zip",
         "myacr.azurecr.io/aks/packages/azure/azure-vnet-cni:v1.6.1-hotfix20241024ApipaGW"),
        ("https://packages.aks.azure.com/containerd/windows/v1.7.20-azure.1/binaries/containerd-v1.7.20-azure.1-windows-amd64.tar.gz",
         "myacr.azurecr.io/aks/packages/containerd/containerd:v1.7.20"),
        ("https://packages.aks.azure.com/containerd/windows/v2.0.4-azure.12/binaries/containerd-v2.0.4-azure.12-windows-amd64.tar.gz",
         "myacr.azurecr.io/aks/packages/containerd/containerd:v2.0.4"),
        ("https://packages.aks.azure.com/kubernetes/v1.33.1/windowszip/v1.33.1-1int.zip",
         "myacr.azurecr.io/aks/packages/kubernetes/windowszip:v1.33.1"),
        ("https://packages.aks.azure.com/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz",
         "myacr.azurecr.io/oss/binaries/kubernetes/kubernetes-node:v1.33.7-linux-amd64"),
        ("https://packages.aks.azure.com/kubernetes/v1.32.3/binaries/kubernetes-node-linux-arm64.tar.gz",
         "myacr.azurecr.io/oss/binaries/kubernetes/kubernetes-node:v1.32.3-linux-arm64"),
        ("https://packages.aks.azure.com/cloud-provider-azure/v1.34.0/binaries/azure-acr-credential-provider-linux-amd64-v1.34.0.tar.gz",
         "myacr.azurecr.io/oss/binaries/kubernetes/azure-acr-credential-provider:v1.34.0-linux-amd64"),
        ("https://packages.aks.azure.com/dalec-packages/azure-acr-credential-provider/1.34.0/windows/amd64/azure-acr-credential-provider_1.34.0-1_amd64.zip",
         "myacr.azurecr.io/aks/packages/kubernetes/azure-acr-credential-provider:v1.34.0"),
        // The older mirror and local servers resolve the same way: rules match the path on any host.
        ("https://acs-mirror.azureedge.net/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip",
         "myacr.azurecr.io/aks/packages/azure/azure-vnet-cni:v1.6.20"),
        ("https://acs-mirror.azureedge.net/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz",
         "myacr.azurecr.io/oss/binaries/kubernetes/kubernetes-node:v1.33.7-linux-amd64"),
        ("http://127.0.0.1:8080/containerd/windows/v1.7.20-azure.1/binaries/containerd-v1.7.20-azure.1-windows-amd64.tar.gz",
         "myacr.azurecr.io/aks/packages/containerd/containerd:v1.7.20"),
    ])
    func builtInFamilies(url: String, reference: String) throws {
        let plan = try plan(url)
        #expect(plan.reference == reference)
        #expect(plan.sources == [Source(scheme: "oci", location: reference)])
    }

    /// The scripts map `/binaries/<name>-windows-amd64-<version>.zip` for any name, not only azure-vnet-cni*,
    /// and take the version from the file name.
    @Test(arguments: [
        ("https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-cni-multitenancy-windows-amd64-v1.6.20.zip",
         "myacr.azurecr.io/aks/packages/azure/azure-cni-multitenancy:v1.6.20"),
        ("https://packages.aks.azure.com/azure-cni/v1.7.0/binaries/cni-plugins-windows-amd64-v1.7.0.zip",
         "myacr.azurecr.io/aks/packages/azure/cni-plugins:v1.7.0"),
        ("https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/my_cni.v2-windows-amd64-v1.6.20.zip",
         "myacr.azurecr.io/aks/packages/azure/my_cni.v2:v1.6.20"),
        ("https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.21.zip",
         "myacr.azurecr.io/aks/packages/azure/azure-vnet-cni:v1.6.21"),
        ("https://packages.aks.azure.com/azure-cni/v2/binaries/azure-vnet-cni-windows-amd64-v2.zip",
         "myacr.azurecr.io/aks/packages/azure/azure-vnet-cni:v2"),
        ("https://packages.aks.azure.com/kubernetes/v1.30.0-hotfix20241209/binaries/kubernetes-node-linux-amd64.tar.gz",
         "myacr.azurecr.io/oss/binaries/kubernetes/kubernetes-node:v1.30.0-hotfix20241209-linux-amd64"),
        ("https://packages.aks.azure.com/dalec-packages/azure-acr-credential-provider/1.34.0-rc.1/windows/amd64/x.zip",
         "myacr.azurecr.io/aks/packages/kubernetes/azure-acr-credential-provider:v1.34.0-rc.1"),
    ])
    func cniNamesAreAsOpenAsTheScripts(url: String, reference: String) throws {
        #expect(try plan(url).reference == reference)
    }

    /// Every built-in rule's version part is `v` + dot-separated digits + an optional `-suffix`, as in the
    /// scripts; anything else in its place maps to no reference (exit 10), never to a made-up tag.
    @Test(arguments: [
        "/azure-cni/vnext/binaries/azure-vnet-cni-windows-amd64-vnext.zip",
        "/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1..6.zip",
        "/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20-.zip",
        "/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20%2B1.zip",
        "/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-1.6.20.zip",
        "/azure-cni/v1.6.20_x/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip",
        "/azure-cni/v1.6.20/binaries/Azure-VNet-cni-windows-amd64-v1.6.20.zip",
        "/azure-cni/v1.6.20/binaries/-windows-amd64-v1.6.20.zip",
        "/containerd/windows/v1.7.20-azure.1;x/binaries/containerd-v1.7.20-azure.1;x-windows-amd64.tar.gz",
        "/containerd/windows/v1.7.x/binaries/containerd-v1.7.x-windows-amd64.tar.gz",
        "/containerd/windows/v1.7.20/binaries/containerd-latest-windows-amd64.tar.gz",
        "/kubernetes/vlatest/windowszip/vlatest-1int.zip",
        "/kubernetes/v1.33.1.../windowszip/v1.33.1-1int.zip",
        "/kubernetes/v1.33.7%20/binaries/kubernetes-node-linux-amd64.tar.gz",
        "/kubernetes/v1.33.7-/binaries/kubernetes-node-linux-amd64.tar.gz",
        "/kubernetes/V1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz",
        "/cloud-provider-azure/v1.34.0/binaries/azure-acr-credential-provider-linux-amd64-v1.34.0+x.tar.gz",
        "/cloud-provider-azure/v1.34/0/binaries/azure-acr-credential-provider-linux-amd64-v1.34.0.tar.gz",
        "/dalec-packages/azure-acr-credential-provider/1.34.0+meta/windows/amd64/x.zip",
        "/dalec-packages/azure-acr-credential-provider/1.34.0.../windows/amd64/x.zip",
        "/dalec-packages/azure-acr-credential-provider/1.x/windows/amd64/x.zip",
    ])
    func aVersionThatIsNotAVersionIsResolveFailed(path: String) {
        let failure = error { try plan("https://packages.aks.azure.com" + path) }
        #expect(failure?.kind == .resolveFailed, "\(path) resolved")
        #expect(failure?.kind.exitCode == 10)
    }

    @Test func planCarriesPackageVersionPlatformAndFormat() throws {
        let plan = try plan("https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-swift-windows-amd64-v1.6.20.zip")
        #expect(plan.rule == "azure-cni-windows")
        #expect(plan.package == "azure-vnet-cni-swift")
        #expect(plan.version == "v1.6.20")
        #expect(plan.fileName == "azure-vnet-cni-swift-windows-amd64-v1.6.20.zip")
        #expect(plan.format == .zip)
        #expect(plan.platform == Platform(os: "windows", architecture: "amd64"))
        let linux = try self.plan("https://packages.aks.azure.com/kubernetes/v1.33.7/binaries/kubernetes-node-linux-arm64.tar.gz")
        #expect(linux.format == .tarGzip)
        #expect(linux.platform == Platform(os: "linux", architecture: "arm64"))
    }

    @Test func linuxCNITarballIsNotTheWindowsRule() {
        let url = "https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-linux-amd64-v1.6.20.tgz"
        #expect(throws: PkgfetchError.self) { try plan(url) }
        #expect(kind { try plan(url) } == .resolveFailed)
    }

    @Test func unmatchedURLWithRegistryIsResolveFailedNamingTheURL() {
        let failure = error { try plan("https://example.com/some/thing.zip") }
        #expect(failure?.kind == .resolveFailed)
        #expect(failure?.message.contains("https://example.com/some/thing.zip") == true)
    }

    @Test func withoutRegistryAnyHTTPURLIsFetchedAsItIs() throws {
        let plan = try plan("https://example.com/some/thing-1.0.tar.gz?sig=abc", registry: nil)
        #expect(plan.rule == "url")
        #expect(plan.package == "thing-1.0")
        #expect(plan.fileName == "thing-1.0.tar.gz")
        #expect(plan.format == .tarGzip)
        #expect(plan.sources == [Source(scheme: "https", location: "https://example.com/some/thing-1.0.tar.gz?sig=abc")])
        #expect(plan.sources[0].redacted == "https://example.com/some/thing-1.0.tar.gz")
        // A known family without a registry: the first source is the https URL, and the rule still informs.
        let known = try self.plan("https://packages.aks.azure.com/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz", registry: nil)
        #expect(known.sources.map(\.scheme) == ["https"])
        #expect(known.version == "v1.33.7")
        #expect(known.reference == nil)
    }

    @Test func fallbackToCDNAppendsTheURL() throws {
        let url = "https://packages.aks.azure.com/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz"
        let plan = try plan(url, fallback: true)
        #expect(plan.sources.map(\.scheme) == ["oci", "https"])
        #expect(plan.sources[1].location == url)
    }

    /// Found by fuzzing: Foundation's NSString path methods trap on `//` and a non-ASCII last character,
    /// so this URL crashed pkgfetch (SIGILL) instead of being fetched.
    @Test func aDoubleSlashBeforeANonASCIIFileNameResolves() throws {
        let plan = try plan("https://example.com/a//\u{E9}t\u{E9}.zip", registry: nil)
        #expect(plan.fileName == "\u{E9}t\u{E9}.zip")
        #expect(try self.plan("https://example.com//\u{E9}", registry: nil).fileName == "\u{E9}")
    }

    /// A file name is a path component of its own: not a directory's name, not cut short by a NUL.
    @Test(arguments: ["https://h/a/%2E%2E", "https://h/a/..%2F", "https://h/a/.", "https://h/kubelet%00.tar.gz", "https://h/x%0A.zip"])
    func fileNamesThatAreNoFileNamesAreResolveFailed(url: String) {
        #expect(kind { try plan(url, registry: nil) } == .resolveFailed, "\(url)")
    }

    @Test(arguments: ["not a url", "ftp://host/x.zip", "https:///x.zip", "https://host/", "file:///etc/passwd"])
    func malformedURLsAreResolveFailed(url: String) {
        #expect(kind { try plan(url, registry: nil) } == .resolveFailed)
    }

    @Test(arguments: [
        ("myacr.azurecr.io", "myacr.azurecr.io", ""),
        ("https://myacr.azurecr.io/", "myacr.azurecr.io", ""),
        ("https://MyACR.azurecr.io//", "myacr.azurecr.io", ""),
        ("myacr.azurecr.io/aks-managed-repository", "myacr.azurecr.io", "aks-managed-repository"),
        ("https://myacr.azurecr.io/aks-managed-repository/", "myacr.azurecr.io", "aks-managed-repository"),
        ("127.0.0.1:5000", "127.0.0.1:5000", ""),
        ("http://localhost:5000/a/b", "localhost:5000", "a/b"),
    ])
    func registryValueNormalisation(raw: String, host: String, prefix: String) throws {
        let address = try RegistryAddress(parsing: raw)
        #expect(address.host == host)
        #expect(address.pathPrefix == prefix)
    }

    @Test func pathPrefixBecomesPartOfTheReference() throws {
        let plan = try plan("https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip",
                            registry: "https://myacr.azurecr.io/aks-managed-repository/")
        #expect(plan.reference == "myacr.azurecr.io/aks-managed-repository/aks/packages/azure/azure-vnet-cni:v1.6.20")
    }

    @Test(arguments: ["", "https://", "ftp://host", "host/a//b", "user@host"])
    func badRegistryValuesAreUsageErrors(raw: String) {
        #expect(kind { try RegistryAddress(parsing: raw) } == .usage)
    }

    @Test func extraRulesGoAheadOfBuiltIns() throws {
        let custom = CDNRule(name: "my-cni", path: #"/azure-cni/(?<version>v[^/]+)/binaries/(?<package>azure-vnet-cni)-windows-amd64-v[^/]+\.zip"#,
                             reference: "mirror/{package}:{version}-custom")
        let resolver = try CDNURLResolver(extraRules: [custom], builtIns: BuiltInRules.all)
        let plan = try resolver.resolve(PackageRequest(
            url: "https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip",
            bootstrapRegistry: try RegistryAddress(parsing: "r.io"), target: .file(path: "/tmp/x")))
        #expect(plan.rule == "my-cni")
        #expect(plan.reference == "r.io/mirror/azure-vnet-cni:v1.6.20-custom")
    }

    @Test func ruleWithHostMatchesOnlyThatHost() throws {
        let rule = CDNRule(name: "internal", host: "pkgs.internal", path: #"/(?<package>[a-z]+)/(?<version>[0-9.]+)/[^/]+"#,
                           reference: "internal/{package}:{version}")
        let resolver = try CDNURLResolver(extraRules: [rule])
        let registry = try RegistryAddress(parsing: "r.io")
        let hit = try resolver.resolve(PackageRequest(url: "https://pkgs.internal/tool/1.2/tool.tgz", bootstrapRegistry: registry,
                                                      target: .file(path: "/tmp/x")))
        #expect(hit.reference == "r.io/internal/tool:1.2")
        #expect(kind {
            try resolver.resolve(PackageRequest(url: "https://elsewhere/tool/1.2/tool.tgz", bootstrapRegistry: registry,
                                                target: .file(path: "/tmp/x")))
        } == .resolveFailed)
    }

    @Test func rulesFileIsReadAndMalformedOnesAreNamed() throws {
        let dir = NSTemporaryDirectory() + "rules-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func write(_ text: String) -> String {
            let path = dir + "/\(UUID().uuidString).json"
            FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
            return path
        }
        let good = write(#"{"rules": [{"name": "x", "path": "/x/(?<package>[a-z]+)-(?<version>[0-9.]+)\\.zip", "reference": "x/{package}:{version}"}]}"#)
        #expect(try CDNURLResolver.loadRules(from: good).map(\.name) == ["x"])
        let list = write(#"[{"name": "y", "path": "/(?<package>y)", "reference": "y/{package}:1"}]"#)
        #expect(try CDNURLResolver.loadRules(from: list).map(\.name) == ["y"])

        let missingField = write(#"[{"name": "bad", "path": "/x"}]"#)
        let missing = error { try CDNURLResolver.loadRules(from: missingField) }
        #expect(missing?.kind == .usage)
        #expect(missing?.message.contains("reference") == true)
        #expect(kind { try CDNURLResolver.loadRules(from: write("{not json")) } == .usage)
        #expect(kind { try CDNURLResolver.loadRules(from: dir + "/absent.json") } == .usage)

        let badRegex = error { try CDNURLResolver(extraRules: [CDNRule(name: "broken", path: "(?<package>[a-", reference: "a/{package}:1")]) }
        #expect(badRegex?.kind == .usage)
        #expect(badRegex?.message.contains("broken") == true)
        let unknownPart = error {
            try CDNURLResolver(extraRules: [CDNRule(name: "typo", path: "/(?<package>[a-z]+)", reference: "a/{package}:{verison}")])
        }
        #expect(unknownPart?.message.contains("typo") == true)
        #expect(unknownPart?.message.contains("verison") == true)
        let noPackage = error { try CDNURLResolver(extraRules: [CDNRule(name: "anon", path: "/(?<version>[0-9]+)", reference: "a/b:{version}")]) }
        #expect(noPackage?.message.contains("package") == true)
    }
}

func error(_ body: () throws -> some Any) -> PkgfetchError? {
    do { _ = try body(); return nil } catch { return error as? PkgfetchError }
}

func kind(_ body: () throws -> some Any) -> ErrorKind? { error(body)?.kind }
