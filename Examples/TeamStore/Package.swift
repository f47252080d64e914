// swift-tools-version:6.0
import PackageDescription

// What a team writes to ship its own `pkgfetch` with one more backend compiled in: this package, its
// backend (Sources/TeamStore), a main.swift of one line, and a test that runs pkgfetch's conformance
// suite. It depends on pkgfetch as a team's package would; here by path, to the checkout it lives in
// (a team would name the repository's URL and a version). `make test` builds and tests it, with a scratch
// path of its own (.build-teamstore at the checkout's root).
let package = Package(
    name: "TeamStore",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "pkgfetch", path: "../.."),
    ],
    targets: [
        // The team's backend: the object store's fetcher, depending on Pipeline only.
        .target(name: "TeamStore", dependencies: [
            .product(name: "Pipeline", package: "pkgfetch"),
            .product(name: "PkgfetchCommand", package: "pkgfetch"),
        ]),
        // The team's own pkgfetch: the whole command, plus its backend.
        .executableTarget(name: "pkgfetch-team", dependencies: [
            "TeamStore", .product(name: "PkgfetchCommand", package: "pkgfetch"),
        ]),
        .testTarget(name: "TeamStoreTests", dependencies: [
            "TeamStore", "pkgfetch-team",
            .product(name: "Pipeline", package: "pkgfetch"),
            .product(name: "PipelineTesting", package: "pkgfetch"),
            .product(name: "PkgfetchCommand", package: "pkgfetch"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
