import Pipeline

/// The package families the AKS node bootstrap scripts fetch today, as rules: data the program gives
/// `CDNURLResolver`, not part of the core. Each matches the URL's path on any host, so
/// `packages.aks.azure.com`, `acs-mirror.azureedge.net` and local mirrors agree.
public enum BuiltInRules {
    /// The rules for AKS's package families, in the order tried.
    public static let all: [CDNRule] = [
        CDNRule(
            name: "azure-cni-windows",
            path: #"/azure-cni/(?<version>v[^/]+)/binaries/(?<package>azure-vnet-cni(?:-[a-z0-9]+)*?)-(?<os>windows)-(?<arch>amd64|arm64)-v[^/]+\.(?<ext>zip)"#,
            reference: "aks/packages/azure/{package}:{version}"),
        CDNRule(
            name: "containerd-windows",
            path: #"/containerd/windows/(?<version>v[^/]+)/binaries/(?<package>containerd)-v[^/]+-(?<os>windows)-(?<arch>amd64|arm64)\.(?<ext>tar\.gz)"#,
            reference: "aks/packages/containerd/{package}:{version}",
            transforms: ["version": PartTransform(dropSuffix: #"-azure\.[0-9]+"#)]),
        CDNRule(
            name: "kubernetes-windows-zip",
            path: #"/kubernetes/(?<version>v[^/]+)/windowszip/[^/]+\.(?<ext>zip)"#,
            reference: "aks/packages/kubernetes/{package}:{version}",
            parts: ["package": "windowszip", "os": "windows", "arch": "amd64"]),
        CDNRule(
            name: "kubernetes-node-linux",
            path: #"/kubernetes/(?<version>v[^/]+)/binaries/(?<package>kubernetes-node)-(?<os>linux)-(?<arch>amd64|arm64)\.(?<ext>tar\.gz)"#,
            reference: "oss/binaries/kubernetes/{package}:{version}-{os}-{arch}"),
        CDNRule(
            name: "acr-credential-provider-linux",
            path: #"/cloud-provider-azure/(?<version>v[^/]+)/binaries/(?<package>azure-acr-credential-provider)-(?<os>linux)-(?<arch>amd64|arm64)-v[^/]+\.(?<ext>tar\.gz)"#,
            reference: "oss/binaries/kubernetes/{package}:{version}-{os}-{arch}"),
        CDNRule(
            name: "acr-credential-provider-windows-dalec",
            path: #"/dalec-packages/(?<package>azure-acr-credential-provider)/(?<version>[0-9][^/]*)/(?<os>windows)/(?<arch>amd64|arm64)/[^/]+\.(?<ext>zip)"#,
            reference: "aks/packages/kubernetes/{package}:v{version}"),
    ]
}
