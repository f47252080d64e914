import Foundation
import Pipeline
import Testing
import TestSupport

/// `VersionOrder` against coreutils' own `sort -V`, on the tags the node scripts sort.
@Suite struct VersionOrderTests {
    @Test func sortsAsSortDashV() throws {
        let versions = ["v1.10.0", "v1.9.0", "v1.9.10", "v1.10.0-1", "v1.10.0-10", "v1.10.0-2", "v1.10.0-rc1", "v1.10.0~rc1", "1.0", "1.0.0",
                        "latest", "v2", "v2.0.0-arm64", "v1.2.3", "v01.2.3", "1.33.0-1.azl3", "1.33.10-1.azl3", "1.33.2-1.azl3", "a", "A", "_x",
                        "1.0.tar.gz", "1.0.1.tar.gz", "1.0-1.zip", "4230.2.1", "4230.2.10", "4230.10.0", "0.0.0", "00", "0", "v", "v1.x", "v1.2a"]
        let expected = try Processes.check(["sort", "-V"], environment: ["LC_ALL": "C"], stdin: Data((versions.joined(separator: "\n") + "\n").utf8))
            .stdout.split(separator: "\n").map(String.init)
        #expect(versions.sorted(by: VersionOrder.precedes) == expected)
    }

    @Test func oddBytesAreOrderedWithoutTrapping() {
        let odd = ["", "~", "\u{0}", "\u{FFFF}", "9999999999999999999999999999", "1.\u{0301}", ".", "..", ".x"]
        let sorted = odd.sorted(by: VersionOrder.precedes)
        #expect(sorted.count == odd.count && sorted.first == "")
    }
}
