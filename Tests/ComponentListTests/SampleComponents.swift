/// A components file written for these tests in AgentBaker's schema (made-up packages and hosts),
/// with one case of each selection rule.
enum SampleComponents {
    static let json = #"""
    {
      "ContainerImages": [{"downloadURL": "example.test/ignored:*", "multiArchVersionsV2": []}],
      "Packages": [
        {
          "name": "kubelet",
          "downloadLocation": "/opt/kubelet/downloads",
          "windowsDownloadLocation": "c:\\cache\\kubelet\\",
          "someFutureField": {"nested": [1, 2]},
          "downloadURIs": {
            "ubuntu": {
              "r2204": {
                "versionsV2": [
                  {"k8sVersion": "1.33", "renovateTag": "x", "latestVersion": "1.33.4-ubuntu22.04u1", "previousLatestVersion": "1.33.3-ubuntu22.04u2"},
                  {"k8sVersion": "1.34", "renovateTag": "x", "latestVersion": "1.34.10-ubuntu22.04u1", "previousLatestVersion": "1.34.9-ubuntu22.04u3"}
                ],
                "downloadURL": "https://cdn.example.test/kubelet/${version}/kubelet-linux-${CPU_ARCH}.tar.gz"
              }
            },
            "flatcar": {
              "current": {
                "versionsV2": [
                  {"k8sVersion": "1.33", "latestVersion": "v1.33.4-1"},
                  {"k8sVersion": "1.34", "latestVersion": "v1.34.10-1"}
                ],
                "downloadURL": "registry.example.test/oss/kubelet-sysext:${version}-${SYSTEMD_ARCH}"
              }
            },
            "windows": {
              "ws2022": {
                "versionsV2": [{"k8sVersion": "1.34", "latestVersion": "1.34.10"}],
                "windowsDownloadURL": "https://cdn.example.test/kubelet/v$version/windows-$CPU_ARCH.zip"
              }
            }
          }
        },
        {
          "name": "cni-plugins",
          "downloadLocation": "/opt/cni/downloads",
          "downloadURIs": {
            "windows": {"default": {"versionsV2": []}},
            "default": {
              "current": {
                "versionsV2": [{"latestVersion": "1.6.2"}, {"latestVersion": "1.10.0"}],
                "downloadURL": "https://cdn.example.test/cni/v${version}/cni-plugins-linux-${CPU_ARCH}-v${version}.tgz"
              }
            }
          }
        },
        {
          "name": "crictl",
          "downloadLocation": "/opt/crictl/downloads",
          "downloadURIs": {
            "azurelinux": {
              "v3.0": {
                "versionsV2": [{"latestVersion": "1.34.0"}],
                "downloadURL": "https://cdn.example.test/crictl/crictl-v${version}-linux-${CPU_ARCH}.tar.gz"
              },
              "OSGUARD/v3.0": {"versionsV2": [{"latestVersion": "<SKIP>"}]}
            }
          }
        },
        {
          "name": "runtime-shim",
          "downloadLocation": "/opt/shim/downloads",
          "downloadURIs": {
            "ubuntu": {
              "current": {
                "versionsV2": [{"latestVersion": "2.1.0"}],
                "downloadURL": "https://cdn.example.test/shim/shim-${version}.tar.gz"
              }
            },
            "default": {
              "current": {
                "versionsV2": [{"latestVersion": "1.0.0"}],
                "downloadURL": "https://cdn.example.test/shim/shim-${version}.tar.gz"
              }
            }
          }
        },
        {
          "name": "mariner-only",
          "downloadLocation": "/opt/mariner-only",
          "downloadURIs": {
            "mariner": {"current": {"versionsV2": [{"latestVersion": "0.3.0"}], "downloadURL": "https://cdn.example.test/m/${version}.tgz"}}
          }
        },
        {
          "name": "legacy-tool",
          "downloadLocation": "/opt/legacy",
          "downloadURIs": {
            "default": {"current": {"versions": ["0.9.1", "0.10.0"], "downloadURL": "https://cdn.example.test/legacy/legacy.tgz?v=${version}"}}
          }
        },
        {
          "name": "apt-installed",
          "downloadLocation": "/opt/apt-installed",
          "downloadURIs": {
            "ubuntu": {"r2204": {"versionsV2": [{"latestVersion": "3.2.1-ubuntu22.04u1"}]}}
          }
        },
        {
          "name": "shell-template",
          "downloadLocation": "/opt/shell-template",
          "downloadURIs": {
            "default": {"current": {"versionsV2": [{"latestVersion": "1.0"}], "downloadURL": "https://cdn.example.test/$(uname -m)/${version}.tgz"}}
          }
        },
        {
          "name": "windows-scripts",
          "windowsDownloadLocation": "c:\\cache\\",
          "downloadURIs": {
            "windows": {"default": {"versionsV2": [{"latestVersion": "0.0.9"}], "downloadURL": "https://cdn.example.test/cse/scripts-v${version}.zip"}}
          }
        },
        {
          "name": "node-binaries",
          "downloadLocation": "/opt/node-binaries",
          "windowsDownloadLocation": "c:\\cache\\node\\",
          "downloadURIs": {
            "default": {"current": {
              "versionsV2": [{"k8sVersion": "1.34", "latestVersion": "v1.34.9"}],
              "downloadURL": "registry.example.test/oss/node:${version}-linux-${CPU_ARCH}",
              "windowsDownloadURL": "https://cdn.example.test/node/${version}/windows.zip"}}
          }
        },
        {
          "name": "no-location",
          "downloadURIs": {
            "ubuntu": {"r2204": {"versionsV2": [{"latestVersion": "1.0.0"}], "downloadURL": "https://cdn.example.test/nl/${version}.deb"}}
          }
        },
        {
          "name": "windows-powershell",
          "windowsDownloadLocation": "c:\\cache\\ps\\",
          "downloadURIs": {
            "windows": {
              "ws2025": {
                "versionsV2": [{"latestVersion": "1.2.3-hotfix"}],
                "windowsDownloadURL": "https://cdn.example.test/ps/$($version.Split('-')[0])/tool.zip"
              }
            }
          }
        }
      ]
    }
    """#
}
