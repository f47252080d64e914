import ComponentList
import Foundation
import Testing

/// Each rule of a package's download location and of a version's directory name, alone: a location
/// that breaks one rule only (relative but without `..`, absolute but climbing) is refused.
@Suite struct ComponentLocationTests {
    func outcome(location: String, version: String = "1") throws -> PlannedPackage.Outcome? {
        let package: [String: Any] = ["name": "p", "downloadLocation": location,
                                      "downloadURIs": ["default": ["current": ["versions": [version], "downloadURL": "https://h/${version}.tgz"]]]]
        let json = try JSONSerialization.data(withJSONObject: ["Packages": [package]])
        return try ComponentPlan.select(ComponentsFile(json: json), for: NodeTarget(os: "ubuntu", release: "22.04")).packages.first?.outcome
    }

    @Test(arguments: ["opt/x", "/opt/../etc", "/opt/./x", "/opt/x\n", "/opt/\u{7f}"])
    func aLocationThatIsNotAPlainAbsolutePathIsRefused(location: String) throws {
        guard case .refused(let message) = try outcome(location: location) else {
            Issue.record("\(location.debugDescription) not refused: \(String(describing: try outcome(location: location)))")
            return
        }
        #expect(message.contains("is not a plain absolute path"), "\(message)")
    }

    @Test(arguments: ["..", ".", "a/b", "a\\b", "1\t"])
    func aVersionThatCannotNameADirectoryIsRefused(version: String) throws {
        guard case .refused(let message) = try outcome(location: "/opt/x", version: version) else {
            Issue.record("\(version.debugDescription) not refused: \(String(describing: try outcome(location: "/opt/x", version: version)))")
            return
        }
        #expect(message.contains("cannot name a directory"), "\(message)")
    }

    @Test func aPlainLocationAndVersionArePlanned() throws {
        guard case .fetch(let files) = try outcome(location: "/opt/x", version: "1.2.3") else {
            Issue.record("not planned: \(String(describing: try outcome(location: "/opt/x", version: "1.2.3")))")
            return
        }
        #expect(files.map(\.directory) == ["/opt/x"])
    }
}
