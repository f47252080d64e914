import Foundation
import Testing
import TestSupport

/// Usage errors name what was typed wrong.
@Suite(.offPool) struct UsageErrorTests {
    private static let url = "https://acs-mirror.azureedge.net/azure-cni/v1.6.20/binaries/azure-vnet-cni-linux-amd64-v1.6.20.tgz"

    private func fetch(_ arguments: [String]) async throws -> ProcessOutput {
        try await offPool { try PkgfetchCLI.run(["fetch", Self.url] + arguments) }
    }

    /// A mistyped --dest leaves --dest missing: the typo is what is reported, not the missing flag.
    @Test func aMistypedDestIsNamedNotReportedAsMissing() async throws {
        let run = try await fetch(["--dset", "/tmp/x"])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("Unknown option '--dset'. Did you mean '--dest'?"), "\(run.stderr)")
        #expect(!run.stderr.contains("give --dest"), "\(run.stderr)")
    }

    @Test func neitherDestNorOutputIsAUsageError() async throws {
        let run = try await fetch([])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("give --dest DIR (unpack) or --output FILE (save the file)"), "\(run.stderr)")
    }
}
