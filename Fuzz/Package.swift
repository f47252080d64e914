// swift-tools-version:6.0
// libFuzzer builds of pkgfetch's parsers: a package of its own, so the main package's `swift build`
// never sees libFuzzer. Built and run by `make fuzz` (scripts/fuzz.sh) with
// `-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library`.
import PackageDescription

let package = Package(
    name: "pkgfetch-fuzz",
    dependencies: [.package(name: "pkgfetch", path: "..")],
    targets: [
        .target(name: "CFuzzer", path: "Sources/CFuzzer"),
        .executableTarget(name: "pkgfetch-fuzz", dependencies: ["CFuzzer", .product(name: "FuzzTargets", package: "pkgfetch")],
                          path: "Sources/pkgfetch-fuzz"),
    ]
)
