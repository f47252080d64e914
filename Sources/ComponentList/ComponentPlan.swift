import Pipeline

/// What a component list means for one node: per package, the files to fetch and where, or why not.
/// Built by `ComponentPlan.select`; nothing here downloads.
public struct ComponentPlan: Sendable {
    public var packages: [PlannedPackage]

    /// How to choose versions: `--k8s`, `--all-versions`, `--only`.
    public struct Options: Sendable {
        /// A Kubernetes `major.minor` (`1.34`, `v1.34`): packages bound to Kubernetes versions take the
        /// highest version of that minor, else their highest.
        public var kubernetes: String?
        /// Every listed version, `previousLatestVersion` included, as an image build caches them.
        public var allVersions: Bool
        /// Only these packages (by name); empty means all.
        public var only: [String]

        public init(kubernetes: String? = nil, allVersions: Bool = false, only: [String] = []) {
            self.kubernetes = kubernetes
            self.allVersions = allVersions
            self.only = only
        }
    }

    /// Reads `file` for `target`: the scripts' entry chain, their version choice, and templates
    /// expanded without a shell. A package is skipped (no entry, `<SKIP>`, no URL) or refused (a
    /// template that would need a shell, a version unfit for a directory name) on its own; only an
    /// `--only` name the file lacks fails the whole selection.
    public static func select(_ file: ComponentsFile, for target: NodeTarget, options: Options = Options()) throws(ComponentListError) -> ComponentPlan {
        let names = Set(file.packages.map(\.name))
        if let missing = options.only.first(where: { !names.contains($0) }) {
            throw ComponentListError("--only \(missing): no package of that name in the components file")
        }
        let wanted = Set(options.only)
        let packages = file.packages.filter { wanted.isEmpty || wanted.contains($0.name) }
        return ComponentPlan(packages: packages.map { PlannedPackage.select($0, for: target, options: options) })
    }
}

/// One package of the plan.
public struct PlannedPackage: Sendable {
    public var name: String
    /// The `downloadURIs` entry chosen, as `os.release` (`ubuntu.r2204`), when one was.
    public var entry: String?
    public var outcome: Outcome

    public enum Outcome: Sendable, Equatable {
        /// Fetch these files.
        case fetch([PlannedFile])
        /// Nothing to fetch for this node, and that is fine (the reason says why).
        case skipped(String)
        /// The entry cannot be fetched safely: the package fails.
        case refused(String)
    }

    static func select(_ package: ComponentPackage, for target: NodeTarget, options: ComponentPlan.Options) -> PlannedPackage {
        guard let (os, key, entry) = target.entryChain.lazy.compactMap({ os, release in
            package.downloadURIs[os]?[release].map { (os, "\(os).\(release)", $0) }
        }).first else {
            return PlannedPackage(name: package.name, entry: nil, outcome: .skipped("no entry for \(target.os) \(target.release)"))
        }
        let outcome: Outcome
        do {
            outcome = try files(of: package, entry: entry, windowsEntry: os == "windows", target: target, options: options)
        } catch {
            outcome = .refused(error.message)
        }
        return PlannedPackage(name: package.name, entry: key, outcome: outcome)
    }

    private static func files(of package: ComponentPackage, entry: ReleaseEntry, windowsEntry: Bool, target: NodeTarget,
                              options: ComponentPlan.Options) throws(ComponentListError) -> Outcome {
        let listed = ListedVersions(entry)
        if listed.isSkip { return .skipped(listed.isEmpty ? "no versions listed" : "<SKIP>") }
        // An entry under `windows` names its URL either way (AgentBaker's own use `downloadURL`); another
        // entry's `downloadURL` is Linux's.
        let template = !target.isWindows ? entry.downloadURL : windowsEntry ? entry.windowsDownloadURL ?? entry.downloadURL : entry.windowsDownloadURL
        guard let template, !template.isEmpty else {
            return .skipped("no \(target.isWindows ? "windowsDownloadURL" : "downloadURL") (installed by the OS package manager)")
        }
        let location = target.isWindows ? package.windowsDownloadLocation.map(WindowsPath.relative) : package.downloadLocation
        guard let location, !location.isEmpty else {
            // As the image build, which caches only packages with a location (acr-mirror has none).
            return .skipped("no \(target.isWindows ? "windowsDownloadLocation" : "downloadLocation") (not cached by the image build)")
        }
        try checkLocation(location)
        let versions = listed.chosen(options)
        if versions.isEmpty { return .skipped("no versions listed") }
        let sources = try versions.map { version throws(ComponentListError) in
            try checkDirectoryName(version)
            return try URLTemplate.expand(template, version: version, target: target)
        }
        // Versions whose files share a name (or whose names only the registry knows) each get a directory.
        let fileNames = sources.map(fileName(of:))
        let separate = versions.count > 1 && (fileNames.contains(nil) || Set(fileNames).count < fileNames.count)
        return .fetch(zip(versions, sources).map { version, source in
            PlannedFile(version: version, source: source, directory: separate ? location + "/" + version : location)
        })
    }

    /// The last path component of an https URL; nil for a registry reference (its layer titles it).
    private static func fileName(of source: String) -> String? {
        guard source.hasPrefix("https://") || source.hasPrefix("http://") else { return nil }
        let path = source.split(separator: "?", maxSplits: 1).first ?? ""
        return path.split(separator: "/").last.map(String.init)
    }

    /// A location is absolute and stays where it says (`--root` prefixes it).
    private static func checkLocation(_ location: String) throws(ComponentListError) {
        if !location.hasPrefix("/") || location.split(separator: "/").contains(where: { $0 == ".." || $0 == "." })
            || location.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
            throw ComponentListError("download location \"\(location)\" is not a plain absolute path")
        }
    }

    /// A version becomes a directory name: nothing that could climb out or hide.
    private static func checkDirectoryName(_ version: String) throws(ComponentListError) {
        if version == "." || version == ".." || version.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") }) {
            throw ComponentListError("version \"\(version)\" cannot name a directory")
        }
    }
}

/// One file to fetch: a version, its source (an https URL or a registry reference), and the
/// directory it is saved into (the package's location, or a directory per version inside it).
public struct PlannedFile: Sendable, Equatable {
    public var version: String
    public var source: String
    public var directory: String

    public init(version: String, source: String, directory: String) {
        self.version = version
        self.source = source
        self.directory = directory
    }
}

/// An entry's versions as the scripts' `updatePackageVersions` lists them.
struct ListedVersions {
    private var items: [VersionItem]

    init(_ entry: ReleaseEntry) {
        items = entry.versionsV2 ?? entry.versions?.map { VersionItem(latestVersion: $0) } ?? []
    }

    var isEmpty: Bool { items.isEmpty }

    /// An empty list, or a first item `<SKIP>`.
    var isSkip: Bool { items.first.map { $0.latestVersion == "<SKIP>" } ?? true }

    private var latest: [String] { items.compactMap(\.latestVersion).filter(Self.isVersion) }

    private var all: [String] {
        var seen = Set<String>()
        return items.flatMap { [$0.latestVersion, $0.previousLatestVersion] }.compactMap { $0 }
            .filter { Self.isVersion($0) && seen.insert($0).inserted }
    }

    private static func isVersion(_ text: String) -> Bool { !text.isEmpty && text != "<SKIP>" }

    /// `--all-versions`: every one; with a Kubernetes minor, for a package bound to Kubernetes
    /// versions, the highest of that minor (as `getLatestPkgVersionFromK8sVersion`); else the highest.
    func chosen(_ options: ComponentPlan.Options) -> [String] {
        if options.allVersions { return all }
        let descending = all.sorted { VersionOrder.compare($0, $1) > 0 }
        if let kubernetes = options.kubernetes, items.contains(where: { $0.k8sVersion != nil }),
           let match = descending.first(where: { Self.minor(of: $0) == Self.minor(of: kubernetes) }) {
            return [match]
        }
        return latest.max { VersionOrder.compare($0, $1) < 0 }.map { [$0] } ?? []
    }

    /// `v1.34.10-ubuntu22.04u1` → `1.34`: before any `-`, the first two dot parts, a leading `v` dropped.
    static func minor(of version: String) -> String {
        let bare = version.hasPrefix("v") ? version.dropFirst() : Substring(version)
        let core = bare.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return core.split(separator: ".", omittingEmptySubsequences: false).prefix(2).joined(separator: ".")
    }
}

/// A Windows location (`c:\akse-cache\kubelet\`) as a path below the mounted volume: the drive letter
/// dropped, backslashes made slashes (`/akse-cache/kubelet`).
enum WindowsPath {
    static func relative(_ path: String) -> String {
        var rest = Substring(path)
        if rest.count >= 2, rest.first!.isLetter, rest[rest.index(after: rest.startIndex)] == ":" { rest = rest.dropFirst(2) }
        let parts = rest.split(whereSeparator: { $0 == "\\" || $0 == "/" })
        return "/" + parts.joined(separator: "/")
    }
}
