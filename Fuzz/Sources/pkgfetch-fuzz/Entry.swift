import CFuzzer
import Foundation
import FuzzTargets

// libFuzzer over one of pkgfetch's fuzz targets, picked by PKGFETCH_FUZZ_TARGET: one (slow, sanitized)
// build serves them all. The arguments are libFuzzer's (`-max_total_time=10 CORPUS…`).

nonisolated(unsafe) private var selected: FuzzTarget = .reference

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    let name = ProcessInfo.processInfo.environment["PKGFETCH_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("pkgfetch-fuzz: set PKGFETCH_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    selected.run(count == 0 ? Data() : Data(bytes: bytes!, count: count))
    return 0
}

/// SwiftPM links a debug executable's entry point under another name (`--defsym main=…`), which
/// takes the place of libFuzzer's main(); this one hands over to libFuzzer's driver.
@main
enum PkgfetchFuzz {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in testOneInput(bytes, count) })
    }
}
