import Foundation
import FuzzTargets

// libFuzzer's entry points. One binary holds every target; PKGFETCH_FUZZ_TARGET picks the one run,
// so one (slow, sanitized) build serves them all.

nonisolated(unsafe) private var selected: FuzzTarget = .reference

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> Int32 {
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
public func testOneInput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    selected.run(Data(bytes: bytes, count: count))
    return 0
}
