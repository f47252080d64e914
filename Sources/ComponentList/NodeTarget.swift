/// The node a component list is read for: which OS and release, and the values templates expand to.
public struct NodeTarget: Sendable, Equatable {
    /// `ubuntu`, `mariner`, `marinerkata`, `azurelinux`, `azurelinuxkata`, `flatcar` (or `acl`), `windows`.
    public var os: String
    /// `22.04`, `3.0`; for Windows the key itself (`ws2022`, `ws2025`).
    public var release: String
    /// The image variant (`OSGUARD`); the scripts' default is `DEFAULT`.
    public var variant: String
    public var arch: Architecture

    public enum Architecture: String, Sendable, CaseIterable {
        case amd64, arm64

        /// `${CPU_ARCH}`.
        public var cpuArch: String { rawValue }
        /// `${SYSTEMD_ARCH}`: systemd's names, as sysext images are tagged.
        public var systemdArch: String { self == .amd64 ? "x86-64" : "arm64" }
    }

    public init(os: String, release: String, variant: String? = nil, arch: Architecture = .amd64) {
        self.os = os.lowercased()
        self.release = release
        self.variant = variant ?? "DEFAULT"
        self.arch = arch
    }

    public var isWindows: Bool { os == "windows" }

    /// The OS names the scripts use (and `acl`, read as flatcar).
    public static let knownSystems = ["ubuntu", "mariner", "marinerkata", "azurelinux", "azurelinuxkata", "flatcar", "acl", "windows"]

    /// The `downloadURIs` keys tried, first that exists wins: the node scripts' `getPackageJSON`
    /// for Linux; for Windows the release's key, `windows.default`, then `default.current` (whose
    /// `windowsDownloadURL` serves Windows, as for kubernetes-binaries).
    public var entryChain: [(os: String, release: String)] {
        let withoutDots = release.replacing(".", with: "")
        let specific: [String]
        switch os {
        case "flatcar", "acl":
            return [("flatcar", "current"), ("default", "current")]
        case "windows":
            return [("windows", release), ("windows", "default"), ("default", "current")]
        case "ubuntu":
            specific = ["\(variant)/r\(withoutDots)", "r\(withoutDots)"]
        case "mariner", "marinerkata", "azurelinux", "azurelinuxkata":
            specific = ["\(variant)/v\(release)", "v\(release)"]
        default:
            specific = []
        }
        return (specific + ["\(variant)/current", "current"]).map { (os, $0) } + [("default", "current")]
    }
}
