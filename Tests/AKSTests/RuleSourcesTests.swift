import AKS
import Foundation
import Pipeline
import Testing

/// Rules that route a URL family to sources of any scheme, and URLs of any scheme planned as they are.
@Suite struct RuleSourcesTests {
    static let rules = """
    [{"name": "tools-via-store", "path": "/tools/(?<version>v[^/]+)/(?<package>[a-z-]+)\\\\.tar\\\\.gz",
      "sources": ["objstore-helper://bucket/{package}/{version}/{file}", "{url}"]}]
    """

    func plan(_ url: String, rules: String = rules, registry: String? = nil, fallback: Bool = false) throws -> Plan {
        let resolver = try CDNURLResolver(extraRules: try CDNURLResolver.decodeRules(Data(rules.utf8), from: "rules.json"), anyScheme: true)
        return try resolver.resolve(PackageRequest(url: url, bootstrapRegistry: try registry.map(RegistryAddress.init(parsing:)),
                                                   fallbackToCDN: fallback, target: .file(path: "/tmp/x")))
    }

    @Test func aRuleListsItsSourcesInOrder() throws {
        let url = "https://cdn.example/tools/v1.2.3/kubectl-plugin.tar.gz?sig=secret"
        let plan = try plan(url)
        #expect(plan.rule == "tools-via-store")
        #expect(plan.sources == [Source(scheme: "objstore-helper", location: "objstore-helper://bucket/kubectl-plugin/v1.2.3/kubectl-plugin.tar.gz"),
                                 Source(scheme: "https", location: url)])
        #expect(plan.version == "v1.2.3")
    }

    /// A routing rule has no registry reference: with a registry set, its sources are still the plan.
    @Test func aRoutingRuleIgnoresTheRegistry() throws {
        let plan = try plan("https://cdn.example/tools/v1/x.tar.gz", registry: "myacr.azurecr.io")
        #expect(plan.reference == nil)
        #expect(plan.sources.map(\.scheme) == ["objstore-helper", "https"])
    }

    /// With a reference too, the registry comes first and the sources are the fallback.
    @Test func withAReferenceTheSourcesAreTheFallback() throws {
        let rules = """
        [{"name": "both", "path": "/tools/(?<version>v[^/]+)/(?<package>[a-z-]+)\\\\.tar\\\\.gz", "reference": "tools/{package}:{version}",
          "sources": ["objstore-helper://bucket/{file}", "{url}"]}]
        """
        let plan = try plan("https://cdn.example/tools/v1/x.tar.gz", rules: rules, registry: "myacr.azurecr.io", fallback: true)
        #expect(plan.sources.map(\.location) == ["myacr.azurecr.io/tools/x:v1", "objstore-helper://bucket/x.tar.gz",
                                                 "https://cdn.example/tools/v1/x.tar.gz"])
    }

    @Test(arguments: [
        (#"[{"name": "r", "path": "/(?<package>x)", "sources": []}]"#, "sources is empty"),
        (#"[{"name": "r", "path": "/(?<package>x)", "sources": ["bucket/{package}"]}]"#, "does not start with a scheme"),
        (#"[{"name": "r", "path": "/(?<package>x)", "sources": ["s3://b/{nope}"]}]"#, "uses {nope}"),
        (#"[{"name": "r", "path": "/(?<package>x)"}]"#, "missing 'reference'"),
    ])
    func aBadRoutingRuleIsAUsageError(_ rules: String, _ problem: String) throws {
        let error = #expect(throws: PkgfetchError.self) { try self.plan("https://h/x", rules: rules) }
        #expect(error?.kind == .usage)
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "")")
    }

    /// Any scheme is planned as it is, when the resolver is told to (the command: helpers may fetch it).
    @Test func anySchemeIsPlannedAsItIs() throws {
        let plan = try plan("my-store+v2://bucket/tools/tool.tar.gz")
        #expect(plan.sources == [Source(scheme: "my-store+v2", location: "my-store+v2://bucket/tools/tool.tar.gz")])
        #expect(plan.fileName == "tool.tar.gz")
        #expect(throws: PkgfetchError.self) { try self.plan("not a scheme://x/y.tgz") }
    }

    /// A URL planned as it is names a file the way an http(s) URL must: not `..`, no control characters.
    @Test(arguments: ["objstore://h:1/b/..", "objstore://h:1/b/%2E%2E", "objstore://h:1/b/x%0Ay"])
    func aURLPlannedAsItIsNamesAUsableFile(_ url: String) throws {
        let resolver = try CDNURLResolver(fetchedAsTheyAre: ["objstore"])
        let error = #expect(throws: PkgfetchError.self) {
            try resolver.resolve(PackageRequest(url: url, target: .file(path: "/tmp/x")))
        }
        #expect(error?.kind == .resolveFailed)
    }
}
