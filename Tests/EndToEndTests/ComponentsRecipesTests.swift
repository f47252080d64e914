import Foundation
import Testing
import TestSupport

/// `pkgfetch components --recipes FILE`: what AgentBaker's `case $name` blocks do after a download, as
/// data — kubelet and kubectl extracted as `<name>-<version>` into /usr/local/bin, the CNI plugins'
/// `bin/*` moved up into /opt/cni/bin, the credential provider renamed — against real nginx, with
/// archives built by bsdtar.
@Suite(.offPool) struct ComponentsRecipesTests {
    struct Setup {
        let work: TemporaryDirectory
        let cdn: Nginx
        let file: String
        let root: String
        static let versions = ["1.33.5", "1.34.1"]

        init(_ label: String) throws {
            work = try TemporaryDirectory(label)
            cdn = try Nginx(root: work.join("cdn"))
            file = work.join("components.json")
            root = work.join("image")
            let base = cdn.url("")
            let json = """
            {"Packages": [
              {"name": "kubernetes-binaries", "downloadLocation": "/opt/kubelet/downloads",
               "downloadURIs": {"default": {"current": {
                 "versionsV2": [{"k8sVersion": "1.33", "latestVersion": "1.33.5"}, {"k8sVersion": "1.34", "latestVersion": "1.34.1"}],
                 "downloadURL": "\(base)/kubernetes/v${version}/binaries/kubernetes-node-linux-${CPU_ARCH}.tar.gz"}}}},
              {"name": "cni-plugins", "downloadLocation": "/opt/cni/downloads",
               "downloadURIs": {"default": {"current": {"versionsV2": [{"latestVersion": "1.6.2"}],
                 "downloadURL": "\(base)/cni/v${version}/cni-plugins-linux-${CPU_ARCH}-v${version}.tgz"}}}},
              {"name": "azure-acr-credential-provider", "downloadLocation": "/opt/credentialprovider/downloads",
               "downloadURIs": {"default": {"current": {"versionsV2": [{"latestVersion": "1.34.0"}],
                 "downloadURL": "\(base)/cloud-provider-azure/v${version}/binaries/azure-acr-credential-provider-linux-${CPU_ARCH}-v${version}.tar.gz"}}}},
              {"name": "plain-save", "downloadLocation": "/opt/plain/downloads",
               "downloadURIs": {"default": {"current": {"versionsV2": [{"latestVersion": "1.0"}],
                 "downloadURL": "\(base)/plain/plain-${version}.tgz"}}}}
            ]}
            """
            try Data(json.utf8).write(to: URL(fileURLWithPath: file))
            for version in Self.versions {
                let tree = work.join("k8s-\(version)")
                try FileManager.default.createDirectory(atPath: tree + "/kubernetes/node/bin", withIntermediateDirectories: true)
                for name in ["kubelet", "kubectl", "kubeadm"] {
                    try Data("#!/bin/sh\necho \(name) \(version)\n".utf8).write(to: URL(fileURLWithPath: tree + "/kubernetes/node/bin/" + name))
                    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tree + "/kubernetes/node/bin/" + name)
                }
                try pack(tree, "kubernetes", as: "/kubernetes/v\(version)/binaries/kubernetes-node-linux-amd64.tar.gz")
            }
            let cni = work.join("cni")
            try FileManager.default.createDirectory(atPath: cni + "/bin", withIntermediateDirectories: true)
            for name in ["bridge", "host-local"] { try Data(name.utf8).write(to: URL(fileURLWithPath: cni + "/bin/" + name)) }
            try Data("license".utf8).write(to: URL(fileURLWithPath: cni + "/LICENSE"))
            try pack(cni, "bin", "LICENSE", as: "/cni/v1.6.2/cni-plugins-linux-amd64-v1.6.2.tgz")
            let provider = work.join("provider")
            try FileManager.default.createDirectory(atPath: provider, withIntermediateDirectories: true)
            try Data("acr-provider".utf8).write(to: URL(fileURLWithPath: provider + "/azure-acr-credential-provider"))
            try pack(provider, "azure-acr-credential-provider",
                     as: "/cloud-provider-azure/v1.34.0/binaries/azure-acr-credential-provider-linux-amd64-v1.34.0.tar.gz")
            try FileManager.default.createDirectory(atPath: cdn.file("/plain"), withIntermediateDirectories: true)
            try Files.writeRandom(cdn.file("/plain/plain-1.0.tgz"), size: 10_000, seed: 3)
        }

        private func pack(_ directory: String, _ members: String..., as path: String) throws {
            try FileManager.default.createDirectory(atPath: (cdn.file(path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Processes.check(["bsdtar", "-czf", cdn.file(path), "-C", directory] + members)
        }

        func writeRecipes(_ text: String) throws -> String {
            let path = work.join("recipes.json")
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }

        func run(_ arguments: [String]) throws -> ProcessOutput {
            try PkgfetchCLI.run(["components", file, "--os", "ubuntu", "--release", "22.04"] + arguments, environment: LoopbackCLI.environment())
        }
    }

    /// README's example recipes ("Recipes: what the scripts do after the download"), as written there.
    static func readmeRecipes() throws -> String {
        let readme = try String(contentsOfFile: ReadmeExampleTests.readme, encoding: .utf8)
        let start = try #require(readme.range(of: "```json\n{\"recipes\""))
        let end = try #require(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
        return String(readme[readme.index(start.lowerBound, offsetBy: 8)..<end.lowerBound])
    }

    @Test func recipesShapeEveryVersionSideBySideUnderTheRoot() throws {
        let setup = try Setup("e2e-recipes")
        let recipes = try setup.writeRecipes(try Self.readmeRecipes())
        // /usr/local/bin already holds a file of someone else's: merged, never replaced.
        try FileManager.default.createDirectory(atPath: setup.root + "/usr/local/bin", withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: setup.root + "/usr/local/bin/other-tool"))
        let run = try setup.run(["--all-versions", "--root", setup.root, "--recipes", recipes, "--retries", "0"])
        #expect(run.status == 0, "\(run.stderr)")
        let bin = setup.root + "/usr/local/bin"
        #expect(try FileManager.default.contentsOfDirectory(atPath: bin).sorted()
                == ["kubectl-1.33.5", "kubectl-1.34.1", "kubelet-1.33.5", "kubelet-1.34.1", "other-tool"])
        for version in Setup.versions {
            #expect(try Processes.run([bin + "/kubelet-\(version)"]).stdout == "kubelet \(version)\n")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: setup.root + "/opt/cni/bin").sorted() == ["bridge", "host-local"])
        #expect(try String(contentsOfFile: setup.root + "/var/lib/kubelet/credential-provider/acr-credential-provider", encoding: .utf8)
                == "acr-provider")
        // A package without a recipe is saved as it is, into its download location.
        #expect(FileManager.default.fileExists(atPath: setup.root + "/opt/plain/downloads/plain-1.0.tgz"))
        // Recipe packages leave no archive behind.
        #expect(!FileManager.default.fileExists(atPath: setup.root + "/opt/kubelet"))
        #expect(run.stdout.contains("fetched kubernetes-binaries 1.33.5, 1.34.1 -> \(bin)"), "\(run.stdout)")

        // --k8s picks one version, and the recipe's ${version} is that one.
        let dry = try setup.run(["--k8s", "1.33", "--root", setup.root, "--recipes", recipes, "--dry-run", "--only", "kubernetes-binaries"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("plan kubernetes-binaries 1.33.5 ") && dry.stdout.contains("-> \(bin)"), "\(dry.stdout)")
    }

    @Test func aPackageWhoseShapingFindsNothingFailsAloneWithItsExitCode() throws {
        let setup = try Setup("e2e-recipes-fail")
        let recipes = try setup.writeRecipes("""
            {"recipes": {"cni-plugins": {"destination": "/opt/cni/bin", "include": ["plugins/*"]},
                         "azure-acr-credential-provider": {"destination": "/var/lib/kubelet/credential-provider", "rename": "acr-credential-provider"}}}
            """)
        let run = try setup.run(["--root", setup.root, "--recipes", recipes, "--exit-code", "cni-plugins=42", "--retries", "0"])
        #expect(run.status == 42, "\(run.stderr)")
        #expect(run.stderr.contains("\"plugins/*\" matched no member"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: setup.root + "/opt/cni/bin/bridge"))
        #expect(FileManager.default.fileExists(atPath: setup.root + "/var/lib/kubelet/credential-provider/acr-credential-provider"))
    }

    /// A bad recipes file: exit 2, one line naming the file, the line and column, and what is wrong;
    /// nothing fetched.
    @Test(arguments: [
        ("{\"recipes\": {\n  \"cni-plugins\": {\"destination\": \"/opt/cni/bin\"\n  \"stripComponents\": 1}}}", ":3:3: not JSON"),
        ("{\"recipes\": {\n  \"cni-plugins\": {\n    \"stripComponents\": \"1\"}}}", ":3:5: recipe \"cni-plugins\" \"stripComponents\" must be a whole number"),
        ("{\"recipes\": {\n  \"cni-plugins\": {\"destinaton\": \"/opt/cni/bin\"}}}", ":2:19: recipe \"cni-plugins\" \"destinaton\" is an unknown field"),
        ("{\"recipes\": {\n  \"cni-plugins\": {\"rename\": \"../x\"}}}", ":2:3: recipe \"cni-plugins\" \"rename\" \"../x\" refused"),
        ("{\"recipes\": {\n  \"cni-plugins\": {\"renameSuffix\": \"-$(id)\"}}}", ":2:3: recipe \"cni-plugins\" template \"-$(id)\""),
        ("{\"recipes\": {\"not-a-package\": {}}}", "recipe \"not-a-package\" names no package"),
    ])
    func aBadRecipesFileIsOneUsageLine(text: String, says: String) throws {
        let setup = try Setup("e2e-recipes-bad")
        let recipes = try setup.writeRecipes(text)
        let run = try setup.run(["--root", setup.root, "--recipes", recipes])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains(says), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(setup.cdn.accessLog.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: setup.root))
    }
}
