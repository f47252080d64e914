import Pipeline
import PkgfetchCommand

/// `teamstore://host:port/bucket/key`: the team's objects in its object store, read as the tenant of
/// `--teamstore-tenant NAME` (a flag of `fetch`, `batch` and `components`, under "TEAMSTORE BACKEND" in
/// their help), else `$TEAMSTORE_TENANT`, else `team`. Its failures print as `teamstore-not-found` and
/// so on, with a download's exit codes. This file is the whole backend as the command sees it;
/// `main.swift` registers it with one line.
public struct TeamStoreBackend: Backend {
    static let tenant = BackendOption("teamstore-tenant", help: "Tenant whose objects teamstore:// URLs read.",
                                      environment: "TEAMSTORE_TENANT", defaultValue: "team")

    public init() {}

    public var descriptor: BackendDescriptor {
        BackendDescriptor(name: "teamstore", schemes: ["teamstore"], capabilities: FetcherCapabilities(resumesWithValidator: true, announcesSize: true),
                          options: [Self.tenant])
    }

    public func makeFetcher(_ shared: SharedTransport) throws -> any Fetcher {
        ObjectStoreFetcher(tenant: shared.options.value(of: Self.tenant) ?? "team")
    }
}
