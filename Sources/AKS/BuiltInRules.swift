import Pipeline

/// The package families the AKS node bootstrap scripts fetch today, as rules: data the program gives
/// `CDNURLResolver`, not part of the core. Each matches the URL's path on any host, so
/// `packages.aks.azure.com`, `acs-mirror.azureedge.net` and local mirrors agree.
public enum BuiltInRules {
    /// A version as the scripts accept it: `v`, digits in dot-separated groups, and an optional
    /// `-suffix` of letters and digits (`-azure.1`, `-hotfix20241024ApipaGW`). Anything else in a
    /// version's place (`vnext`, `v1..2`, `v1.2%2B3`, a trailing `-`) matches no rule: exit 10 with a
    /// registry, rather than a made-up tag.
    static let version = #"v[0-9]+(?:\.[0-9]+)*(?:-[0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*)?"#
    /// The same without the leading `v`, for paths that spell it bare (the dalec packages).
    static let bareVersion = #"[0-9]+(?:\.[0-9]+)*(?:-[0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*)?"#
    /// A package name that is also a valid repository path component (OCI distribution spec):
    /// the scripts take any name here (azure-vnet-cni, -overlay, -swift, …).
    static let name = #"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"#

    public static let all: [CDNRule] = [
        CDNRule(
            // The scripts map `/binaries/<name>-windows-amd64-<version>.zip`: the version is the file's.
            name: "azure-cni-windows",
            path: #"/azure-cni/\#(version)/binaries/(?<package>\#(name))-(?<os>windows)-(?<arch>amd64|arm64)-(?<version>\#(version))\.(?<ext>zip)"#,
            reference: "aks/packages/azure/{package}:{version}"),
        CDNRule(
            name: "containerd-windows",
            path: #"/containerd/windows/(?<version>\#(version))/binaries/(?<package>containerd)-\#(version)-(?<os>windows)-(?<arch>amd64|arm64)\.(?<ext>tar\.gz)"#,
            reference: "aks/packages/containerd/{package}:{version}",
            transforms: ["version": PartTransform(dropSuffix: #"-azure\.[0-9]+"#)]),
        CDNRule(
            name: "kubernetes-windows-zip",
            path: #"/kubernetes/(?<version>\#(version))/windowszip/[^/]+\.(?<ext>zip)"#,
            reference: "aks/packages/kubernetes/{package}:{version}",
            parts: ["package": "windowszip", "os": "windows", "arch": "amd64"]),
        CDNRule(
            name: "kubernetes-node-linux",
            path: #"/kubernetes/(?<version>\#(version))/binaries/(?<package>kubernetes-node)-(?<os>linux)-(?<arch>amd64|arm64)\.(?<ext>tar\.gz)"#,
            reference: "oss/binaries/kubernetes/{package}:{version}-{os}-{arch}"),
        CDNRule(
            name: "acr-credential-provider-linux",
            path: #"/cloud-provider-azure/(?<version>\#(version))/binaries/(?<package>azure-acr-credential-provider)-(?<os>linux)-(?<arch>amd64|arm64)-\#(version)\.(?<ext>tar\.gz)"#,
            reference: "oss/binaries/kubernetes/{package}:{version}-{os}-{arch}"),
        CDNRule(
            name: "acr-credential-provider-windows-dalec",
            path: #"/dalec-packages/(?<package>azure-acr-credential-provider)/(?<version>\#(bareVersion))/(?<os>windows)/(?<arch>amd64|arm64)/[^/]+\.(?<ext>zip)"#,
            reference: "aks/packages/kubernetes/{package}:v{version}"),
    ]
}
