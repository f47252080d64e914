// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "pkgfetch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pkgfetch", targets: ["pkgfetch"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
        // The command itself, to run with extra in-process backends from a package of one's own
        // (Examples/TeamStore is such a package).
        .library(name: "PkgfetchCommand", targets: ["PkgfetchCommand"]),
        // For the fuzzing package in Fuzz/ (built only by `make fuzz`, with libFuzzer).
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
        // Fakes and the fetcher conformance suite, for teams that write a backend.
        .library(name: "PipelineTesting", targets: ["PipelineTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // C shims: typed wrappers over libcurl's variadic calls; libarchive loaded on first use (dlopen),
        // built against libarchive-dev's headers and linking no libarchive.
        .target(name: "CCurl", path: "Sources/CCurl", linkerSettings: [.linkedLibrary("curl")]),
        .target(name: "CSystem", path: "Sources/CSystem"),
        .target(name: "CArchive", path: "Sources/CArchive"),

        .target(name: "Pipeline", dependencies: [
            "CSystem",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Sources/Pipeline"),
        // What is AKS's, not the engine's: the CDN URL resolver and its rules, the guest agent's event sink.
        .target(name: "AKS", dependencies: ["Pipeline", "CSystem"], path: "Sources/AKS"),
        .target(name: "PipelineTesting", dependencies: [
            "Pipeline", .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Sources/PipelineTesting"),
        .target(name: "SourcesHTTP", dependencies: ["Pipeline", "CCurl"], path: "Sources/Sources-HTTP"),
        .target(name: "SourcesORAS", dependencies: [
            "Pipeline", "SourcesHTTP", "Unpackers", .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Sources/Sources-ORAS"),
        .target(name: "Unpackers", dependencies: ["Pipeline", "CArchive"], path: "Sources/Unpackers"),
        // AgentBaker's components.json: selects entries and expands templates; knows nothing of downloading.
        .target(name: "ComponentList", dependencies: ["Pipeline"], path: "Sources/ComponentList"),
        // Helper executables (pkgfetch-fetch-<scheme>) as fetchers: a backend in any language.
        .target(name: "SourcesHelper", dependencies: ["Pipeline", "CSystem"], path: "Sources/Sources-Helper"),
        // The command line as a library, so that a team can build its own `pkgfetch` with an extra
        // backend compiled in; the `pkgfetch` executable is its two-line main.
        .target(name: "PkgfetchCommand", dependencies: [
            "Pipeline", "AKS", "SourcesHTTP", "SourcesORAS", "SourcesHelper", "Unpackers", "CSystem", "PipelineTesting", "ComponentList",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/PkgfetchCommand"),
        .executableTarget(name: "pkgfetch", dependencies: ["PkgfetchCommand"], path: "Sources/pkgfetch"),

        // Tests: one target per source target, shared real-server helpers, end-to-end CLI tests. Each names
        // every module it imports: SwiftPM rebuilds a target only when a module it declares changes, and a
        // test compiled against an older Pipeline layout (reached only through Unpackers) crashed at run time.
        .target(name: "TestSupport", dependencies: ["Pipeline", .product(name: "Crypto", package: "swift-crypto")], path: "Tests/TestSupport"),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "PipelineTesting", "TestSupport", .product(name: "Logging", package: "swift-log"),
                                                  .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "AKSTests", dependencies: ["AKS", "Pipeline", "TestSupport"]),
        .testTarget(name: "SourcesHTTPTests", dependencies: ["SourcesHTTP", "Pipeline", "CCurl", "PipelineTesting", "TestSupport"]),
        .testTarget(name: "SourcesORASTests", dependencies: ["SourcesORAS", "SourcesHTTP", "Pipeline", "PipelineTesting", "TestSupport",
                                                     .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "SourcesHelperTests", dependencies: ["SourcesHelper", "Pipeline", "PipelineTesting", "TestSupport"]),
        .testTarget(name: "UnpackersTests", dependencies: ["Unpackers", "Pipeline", "TestSupport"]),
        .testTarget(name: "ComponentListTests", dependencies: ["ComponentList", "Pipeline"]),
        .testTarget(name: "EndToEndTests", dependencies: ["Pipeline", "TestSupport"]),
        // The command's own pieces driven directly, no process: progress lines at a given width, flag
        // grammars, the backends' flags (BackendFlags).
        .testTarget(name: "PkgfetchCommandTests", dependencies: ["PkgfetchCommand", "Pipeline", "PipelineTesting"]),
        // The parsers' fuzz targets (BatchList.swift is the CLI's file, linked in), and the test that
        // replays their seeds and every crash `make fuzz` kept.
        .target(name: "FuzzTargets", dependencies: ["Pipeline", "AKS", "SourcesHTTP", "SourcesORAS", "Unpackers", "ComponentList"], path: "Tests/FuzzTargets"),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets"]),
    ],
    swiftLanguageModes: [.v6]
)
