import ArgumentParser
import SourcesORAS

/// Where containerd's hosts.toml files are read from: shared by the registry backend (which tries the
/// mirrors they name) and `resolve` (which shows them).
struct HostsDirectoryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("containerd hosts directory: <registry>/hosts.toml there names mirrors tried before the registry (\"\" turns it off).", valueName: "dir"), completion: .directory)
    var hostsDir: String = RegistryHosts.defaultDirectory

    @Flag(name: .long, help: "Do not read hosts.toml files: fetch from the registry only.")
    var noHostsDir = false

    /// The hosts directory in use: `--hosts-dir` (default containerd's), none with `--no-hosts-dir` or `--hosts-dir ""`.
    func registryHosts(_ schemes: RegistrySchemePolicy) -> RegistryHosts {
        RegistryHosts(directory: noHostsDir ? nil : hostsDir, schemes: schemes)
    }
}
