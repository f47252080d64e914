import ComponentList
import Foundation
import Testing

/// `ComponentPlan.select` over `SampleComponents`: the scripts' entry chain, version choice and
/// template expansion, without a shell.
@Suite struct ComponentPlanTests {
    let file = try! ComponentsFile(json: Data(SampleComponents.json.utf8))

    func plan(_ target: NodeTarget, _ options: ComponentPlan.Options = .init()) throws -> [String: PlannedPackage] {
        let plan = try ComponentPlan.select(file, for: target, options: options)
        return Dictionary(uniqueKeysWithValues: plan.packages.map { ($0.name, $0) })
    }

    func files(_ package: PlannedPackage?) -> [PlannedFile] {
        if case .fetch(let files) = package?.outcome { return files }
        Issue.record("\(package?.name ?? "?") is not fetched: \(String(describing: package?.outcome))")
        return []
    }

    @Test func unknownFieldsAreIgnoredAndEveryPackageIsRead() {
        #expect(file.packages.count == 12)
    }

    @Test func releaseEntryFirstThenOSCurrentThenDefaultCurrent() throws {
        let packages = try plan(NodeTarget(os: "ubuntu", release: "22.04"))
        #expect(packages["kubelet"]?.entry == "ubuntu.r2204")
        // ubuntu has no r2204 for these: its own current, then default.current.
        #expect(packages["runtime-shim"]?.entry == "ubuntu.current")
        #expect(files(packages["runtime-shim"]).map(\.version) == ["2.1.0"])
        #expect(packages["cni-plugins"]?.entry == "default.current")
        // Another release of Ubuntu: kubelet has no r2404 and no current anywhere.
        let other = try plan(NodeTarget(os: "ubuntu", release: "24.04"))
        #expect(other["kubelet"]?.outcome == .skipped("no entry for ubuntu 24.04"))
    }

    @Test func azureLinuxReleaseAndVariant() throws {
        let plain = try plan(NodeTarget(os: "azurelinux", release: "3.0"))
        #expect(plain["crictl"]?.entry == "azurelinux.v3.0")
        #expect(files(plain["crictl"]).map(\.source) == ["https://cdn.example.test/crictl/crictl-v1.34.0-linux-amd64.tar.gz"])
        let guarded = try plan(NodeTarget(os: "azurelinux", release: "3.0", variant: "OSGUARD"))
        #expect(guarded["crictl"]?.entry == "azurelinux.OSGUARD/v3.0")
        #expect(guarded["crictl"]?.outcome == .skipped("<SKIP>"))
        // No variant entry: the variant falls through to the plain release.
        #expect(guarded["cni-plugins"]?.entry == "default.current")
    }

    @Test func packageOnlyForAnotherOSIsSkipped() throws {
        let packages = try plan(NodeTarget(os: "ubuntu", release: "22.04"))
        #expect(packages["mariner-only"]?.outcome == .skipped("no entry for ubuntu 22.04"))
        #expect(packages["apt-installed"]?.outcome == .skipped("no downloadURL (installed by the OS package manager)"))
        #expect(packages["no-location"]?.outcome == .skipped("no downloadLocation (not cached by the image build)"))
        #expect(files(packages["node-binaries"]).map(\.source) == ["registry.example.test/oss/node:v1.34.9-linux-amd64"])
        #expect(try plan(NodeTarget(os: "mariner", release: "2.0"))["mariner-only"]?.entry == "mariner.current")
    }

    @Test func withoutKubernetesTheHighestLatestVersion() throws {
        let packages = try plan(NodeTarget(os: "ubuntu", release: "22.04", arch: .arm64))
        #expect(files(packages["kubelet"]) == [PlannedFile(
            version: "1.34.10-ubuntu22.04u1",
            source: "https://cdn.example.test/kubelet/1.34.10-ubuntu22.04u1/kubelet-linux-arm64.tar.gz",
            directory: "/opt/kubelet/downloads")])
        // 1.10.0 > 1.6.2 as versions, not as text.
        #expect(files(packages["cni-plugins"]).map(\.version) == ["1.10.0"])
        #expect(files(packages["legacy-tool"]).map(\.version) == ["0.10.0"])
    }

    @Test func kubernetesMinorPicksItsHighestElseTheHighest() throws {
        let ubuntu = NodeTarget(os: "ubuntu", release: "22.04")
        #expect(files(try plan(ubuntu, .init(kubernetes: "1.33"))["kubelet"]).map(\.version) == ["1.33.4-ubuntu22.04u1"])
        #expect(files(try plan(ubuntu, .init(kubernetes: "v1.33"))["kubelet"]).map(\.version) == ["1.33.4-ubuntu22.04u1"])
        #expect(files(try plan(ubuntu, .init(kubernetes: "1.31"))["kubelet"]).map(\.version) == ["1.34.10-ubuntu22.04u1"])
        // The leading v of the listed versions is ignored too; ${SYSTEMD_ARCH} is systemd's name.
        let flatcar = try plan(NodeTarget(os: "flatcar", release: "4230.2"), .init(kubernetes: "1.33"))
        #expect(flatcar["kubelet"]?.entry == "flatcar.current")
        #expect(files(flatcar["kubelet"]).map(\.source) == ["registry.example.test/oss/kubelet-sysext:v1.33.4-1-x86-64"])
        // A package not bound to Kubernetes versions keeps its highest.
        #expect(files(try plan(ubuntu, .init(kubernetes: "1.6"))["cni-plugins"]).map(\.version) == ["1.10.0"])
    }

    @Test func allVersionsTakesPreviousTooAndSeparatesSharedFileNames() throws {
        let packages = try plan(NodeTarget(os: "ubuntu", release: "22.04"), .init(allVersions: true))
        let kubelet = files(packages["kubelet"])
        #expect(kubelet.map(\.version) == ["1.33.4-ubuntu22.04u1", "1.33.3-ubuntu22.04u2", "1.34.10-ubuntu22.04u1", "1.34.9-ubuntu22.04u3"])
        // Every version's file is kubelet-linux-amd64.tar.gz: each goes into its own directory.
        #expect(kubelet.map(\.directory) == kubelet.map { "/opt/kubelet/downloads/\($0.version)" })
        // Names that differ share the location.
        #expect(files(packages["cni-plugins"]).map(\.directory) == ["/opt/cni/downloads", "/opt/cni/downloads"])
    }

    @Test func windowsUsesItsURLAndLocation() throws {
        let packages = try plan(NodeTarget(os: "windows", release: "ws2022"))
        #expect(files(packages["kubelet"]) == [PlannedFile(
            version: "1.34.10", source: "https://cdn.example.test/kubelet/v1.34.10/windows-amd64.zip", directory: "/cache/kubelet")])
        #expect(packages["cni-plugins"]?.entry == "windows.default")
        #expect(packages["cni-plugins"]?.outcome == .skipped("no versions listed"))
        // A windows entry's downloadURL serves when it has no windowsDownloadURL; the release falls back to windows.default.
        #expect(files(packages["windows-scripts"]) == [PlannedFile(
            version: "0.0.9", source: "https://cdn.example.test/cse/scripts-v0.0.9.zip", directory: "/cache")])
        // default.current serves Windows by its windowsDownloadURL only; its downloadURL is Linux's.
        #expect(files(packages["node-binaries"]) == [PlannedFile(
            version: "v1.34.9", source: "https://cdn.example.test/node/v1.34.9/windows.zip", directory: "/cache/node")])
        #expect(packages["cni-plugins"]?.outcome == .skipped("no versions listed"))
        #expect(packages["runtime-shim"]?.entry == "default.current")
        #expect(packages["runtime-shim"]?.outcome == .skipped("no windowsDownloadURL (installed by the OS package manager)"))
    }

    @Test func templatesThatNeedAShellAreRefused() throws {
        let linux = try plan(NodeTarget(os: "ubuntu", release: "22.04"))
        guard case .refused(let message) = linux["shell-template"]?.outcome else {
            Issue.record("not refused: \(String(describing: linux["shell-template"]?.outcome))")
            return
        }
        #expect(message.contains("$(uname -m)"))
        let windows = try plan(NodeTarget(os: "windows", release: "ws2025"))
        guard case .refused(let powershell) = windows["windows-powershell"]?.outcome else {
            Issue.record("not refused: \(String(describing: windows["windows-powershell"]?.outcome))")
            return
        }
        #expect(powershell.contains("$($version.Split('-')[0])"))
    }

    @Test(arguments: ["https://x/${HOME}", "https://x/`id`", "https://x/${version", "https://x/$versionX", "https://x/a\\b", "https://x/${SYSTEMD_ARCH}"])
    func otherExpansionsAreRefused(template: String) {
        #expect(throws: ComponentListError.self) {
            try URLTemplate.expand(template, version: "1", target: NodeTarget(os: "windows", release: "ws2022"))
        }
    }

    @Test func bareAndBracedNamesExpand() throws {
        let target = NodeTarget(os: "ubuntu", release: "22.04", arch: .arm64)
        #expect(try URLTemplate.expand("a/$version-$CPU_ARCH/${SYSTEMD_ARCH}.x", version: "1.2", target: target) == "a/1.2-arm64/arm64.x")
    }

    @Test func onlyNamesPackagesAndRejectsUnknownOnes() throws {
        let packages = try plan(NodeTarget(os: "ubuntu", release: "22.04"), .init(only: ["cni-plugins"]))
        #expect(Array(packages.keys) == ["cni-plugins"])
        #expect(throws: ComponentListError("--only nope: no package of that name in the components file")) {
            try ComponentPlan.select(file, for: NodeTarget(os: "ubuntu", release: "22.04"), options: .init(only: ["nope"]))
        }
    }

    @Test func unsafeVersionsAndLocationsAreRefused() throws {
        let json = #"""
        {"Packages": [
          {"name": "climb", "downloadLocation": "/opt/x", "downloadURIs": {"default": {"current": {"versions": ["../../etc"], "downloadURL": "https://h/${version}.tgz"}}}},
          {"name": "relative", "downloadLocation": "opt/../../x", "downloadURIs": {"default": {"current": {"versions": ["1"], "downloadURL": "https://h/${version}.tgz"}}}}
        ]}
        """#
        let plan = try ComponentPlan.select(ComponentsFile(json: Data(json.utf8)), for: NodeTarget(os: "ubuntu", release: "22.04"))
        for package in plan.packages {
            guard case .refused = package.outcome else {
                Issue.record("\(package.name) not refused: \(package.outcome)")
                continue
            }
        }
    }

    @Test(arguments: ["", "[]", "{\"Packages\": {}}", "{\"Packages\": [{\"downloadLocation\": 1}]}", "{\"Packages\": [{\"name\": \"x\", \"downloadURIs\": {\"ubuntu\": []}}]}", "\u{FF}\u{FE}"])
    func malformedFilesAreOneLineErrors(text: String) {
        #expect(throws: ComponentListError.self) { try ComponentsFile(json: Data(text.utf8)) }
    }

    @Test func aFileOverTheLimitIsRefusedBeforeDecoding() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("components-\(UUID()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(SampleComponents.json.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try ComponentsFile.load(path: path).packages.count == 12)
        #expect(throws: ComponentListError("the components file \(path) is larger than 100 bytes")) {
            try ComponentsFile.load(path: path, limit: 100)
        }
        #expect(throws: ComponentListError.self) { try ComponentsFile.load(path: path + ".missing") }
    }
}
