// A team's own `pkgfetch`: the whole command, plus one backend compiled in. This file and the
// backend type are all the team writes; everything else (flags, rules, retries, verification,
// unpacking, installs, exit codes) is pkgfetch's. Built as `pkgfetch-team`.
import Foundation
import ObjectStoreExample
import Pipeline
import PkgfetchCommand

/// `teamstore://host:port/bucket/key`: the team's objects in its object store (the example store of
/// Examples/ObjectStore), read as tenant `$TEAMSTORE_TENANT` (default `team`).
struct TeamStoreBackend: Backend {
    var schemes: [String] { ["teamstore"] }

    func makeFetcher(_ shared: SharedTransport) throws -> any Fetcher {
        ObjectStoreFetcher(tenant: ProcessInfo.processInfo.environment["TEAMSTORE_TENANT"] ?? "team")
    }
}

await PkgfetchMain.main(extraBackends: [TeamStoreBackend()])
