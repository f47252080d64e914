import ComponentList
import Foundation
import Pipeline
import Testing

/// `--recipes`: a recipe's destination stays where it says, its templates are expanded per version
/// without a shell, and its shaping is checked as a batch entry's is.
@Suite struct RecipesTests {
    func recipes(_ recipe: String) throws(ComponentListError) -> Recipes {
        try Recipes(json: Data("{\"recipes\": {\"p\": \(recipe)}}".utf8))
    }

    @Test(arguments: ["opt/bin", "/opt/../etc", "/opt/./bin", "/opt/${version}/../../etc", "/opt/bin\n"])
    func aDestinationThatIsNotAPlainAbsolutePathIsRefused(destination: String) throws {
        let text = String(decoding: try JSONSerialization.data(withJSONObject: destination, options: .fragmentsAllowed), as: UTF8.self)
        let error = #expect(throws: ComponentListError.self) { try recipes("{\"destination\": \(text)}") }
        #expect(error?.message.contains("not a plain absolute path") == true, "\(String(describing: error))")
    }

    @Test func templatesAreExpandedPerVersionAndArchitecture() throws {
        let loaded = try recipes("""
            {"destination": "/opt/${CPU_ARCH}/bin", "include": ["kubernetes/node/bin/kubelet"], "stripComponents": 3, "renameSuffix": "-${version}"}
            """)
        let recipe = try #require(loaded.byPackage["p"])
        let applied = try Recipes.apply(recipe, location: "/opt/p/downloads", version: "1.34.1",
                                        target: NodeTarget(os: "ubuntu", release: "22.04", arch: .arm64))
        #expect(applied.destination == "/opt/arm64/bin")
        #expect(applied.unpack)
        #expect(applied.shaping == (try Shaping(include: ["kubernetes/node/bin/kubelet"], stripComponents: 3, renameSuffix: "-1.34.1")))
        // Without a destination: the package's download location.
        let plain = try Recipes.apply(try #require(try recipes("{\"rename\": \"x\"}").byPackage["p"]), location: "/opt/p/downloads",
                                      version: "1", target: NodeTarget(os: "ubuntu", release: "22.04"))
        #expect(plain.destination == "/opt/p/downloads")
    }

    @Test func aVersionThatMakesARenameUnsafeIsRefusedWhenApplied() throws {
        let recipe = try #require(try recipes("{\"renameSuffix\": \"-${version}\"}").byPackage["p"])
        #expect(throws: ComponentListError.self) {
            try Recipes.apply(recipe, location: "/opt", version: "1..2", target: NodeTarget(os: "ubuntu", release: "22.04"))
        }
    }

    @Test func unpackFalseCannotChooseMembers() {
        #expect(throws: ComponentListError.self) { try recipes("{\"unpack\": false, \"stripComponents\": 1}") }
        #expect(throws: ComponentListError.self) { try recipes("{\"unpack\": \"no\"}") }
    }
}
