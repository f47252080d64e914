import Foundation
import Pipeline
import PipelineTesting
import Testing

/// A backend's descriptor is what the registry, the exit codes and the events go by: a scheme nothing
/// in pkgfetch names gets the family and source kind its backend declares.
@Suite struct BackendDescriptorTests {
    @Test func aRegisteredDescriptorDecidesItsSchemesCodesAndKind() throws {
        let source = Source(scheme: "descriptortest", location: "descriptortest://store/x.bin")
        #expect(PkgfetchError(.notFound, "gone", scheme: source.scheme).kind == .httpNotFound, "undeclared: a download's codes")
        #expect(SourceKind(source, reference: nil) == nil)

        var plugins = PluginRegistry()
        let descriptor = BackendDescriptor(name: "descriptortest", schemes: ["DescriptorTest"], capabilities: FetcherCapabilities(announcesSize: true),
                                           failures: FailureFamily("descriptortest", codes: .registry), sourceKind: .registry)
        plugins.register(descriptor, fetcher: ScriptedFetcher(content: Data("x".utf8)))
        #expect(plugins.fetcherSchemes == ["descriptortest"])
        #expect(plugins.descriptor(forScheme: "DESCRIPTORTEST")?.capabilities == FetcherCapabilities(announcesSize: true))
        #expect(PkgfetchError(.notFound, "gone", scheme: source.scheme).kind == .artifactNotFound)
        #expect(PkgfetchError(.unauthorized, "no", scheme: source.scheme).kind == .registryUnauthorized)
        #expect(PkgfetchError(.notFound, "gone", scheme: source.scheme).description == "error[descriptortest-not-found]: gone")
        #expect(SourceKind(source, reference: nil) == .registry)
    }
}
