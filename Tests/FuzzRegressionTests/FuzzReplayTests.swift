import Foundation
import FuzzTargets
import Testing

/// Every seed of every fuzz target, and every input `make fuzz` kept as a finding
/// (Fuzz/Regressions/<target>/), run through the same target code: each must return normally.
@Suite struct FuzzReplayTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz").path

    static func inputs(_ target: FuzzTarget) -> [String] {
        ["Seeds", "Regressions"].flatMap { kind -> [String] in
            let directory = "\(fuzz)/\(kind)/\(target.rawValue)"
            return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted().map { "\(directory)/\($0)" }
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedsAndFoundCrashesRunCleanly(target: FuzzTarget) throws {
        let inputs = Self.inputs(target)
        #expect(!inputs.isEmpty, "no seeds for \(target) in \(Self.fuzz)/Seeds/\(target.rawValue)")
        for input in inputs { target.run(try Data(contentsOf: URL(fileURLWithPath: input))) }
    }
}
