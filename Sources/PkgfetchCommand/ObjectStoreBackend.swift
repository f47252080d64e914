import ArgumentParser
import ObjectStoreExample
import Pipeline

/// `objstore` sources: the example object store (Examples/ObjectStore), a backend written as a team
/// outside pkgfetch would write one. Registered with one line in `Backends`.
struct ObjectStoreBackend: BuiltInBackend {
    @Option(name: .long, help: ArgumentHelp("Tenant whose objects objstore:// URLs read.", valueName: "name"))
    var objstoreTenant = "default"

    var schemes: [String] { ["objstore"] }

    func makeFetcher(_ shared: SharedTransport) throws -> any Fetcher { ObjectStoreFetcher(tenant: objstoreTenant) }
}
