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

    /// `pkgfetch fecth URL`: the unknown command is named, with the closest one (issue 24, item 10).
    @Test func anUnknownCommandIsNamedWithASuggestion() async throws {
        let run = try await offPool { try PkgfetchCLI.run(["fecth", Self.url, "--dest", "/tmp/x"]) }
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr == "pkgfetch: error[usage]: unknown command 'fecth' (did you mean 'fetch'?); the commands are fetch, batch, "
                + "components, resolve, tags, plugins, conformance, exit-codes (see 'pkgfetch help')\n", "\(run.stderr)")
    }

    /// A usage error points to the subcommand's own help.
    @Test func aUsageErrorPointsToTheSubcommandsHelp() async throws {
        let run = try await fetch(["--dset", "/tmp/x"])
        #expect(run.stderr.hasSuffix("(see 'pkgfetch help fetch')\n"), "\(run.stderr)")
    }

    /// Go's duration forms and fractional sizes are taken (a run that got past parsing asks for --dest);
    /// a value in neither form is refused naming the forms (issue 24, item 8).
    @Test func durationsAndSizesInTheOneGrammar() async throws {
        let taken = try await fetch(["--deadline", "1m30s", "--retry-delay", "1.5m", "--max-size", "1.5G", "--max-unpacked-size", "4GiB"])
        #expect(taken.status == 2 && taken.stderr.contains("give --dest DIR"), "\(taken.stderr)")
        let duration = try await fetch(["--output", "/tmp/x", "--deadline", "90 sec"])
        #expect(duration.status == 2, "\(duration.stderr)")
        #expect(duration.stderr.contains("The value '90 sec' is invalid for '--deadline <duration>'; give a duration such as 300s, 1m30s, 1.5m, 250ms or 2h"),
                "\(duration.stderr)")
        let size = try await fetch(["--output", "/tmp/x", "--max-size", "1.5Q"])
        #expect(size.stderr.contains("give a size such as 4G, 1.5G, 512M, 4GiB or 4096"), "\(size.stderr)")
    }

    /// `--output /proc/x` names the real problem, not ENOENT; `-o` is `--output`; `--insecure`'s warning
    /// has the one warning style, and `--quiet` silences it (issue 24, items 10 and 11).
    @Test func outputIntoProcNamesTheFileSystemAndInsecureWarnsUnlessQuiet() async throws {
        let loud = try await fetch(["-o", "/proc/pkgfetch-test", "--insecure", "--retries", "0"])
        #expect(loud.status != 0 && loud.status != 2, "\(loud.stderr)")
        let lines = loud.stderr.split(separator: "\n")
        #expect(lines.count == 2, "\(loud.stderr)")
        #expect(lines.first == "pkgfetch: warning: --insecure: TLS certificates are not verified", "\(loud.stderr)")
        #expect(lines.last?.contains("/proc: a proc file system, where files cannot be created") == true, "\(loud.stderr)")
        #expect(!loud.stderr.contains("No such file or directory"), "\(loud.stderr)")
        let quiet = try await fetch(["-o", "/proc/pkgfetch-test", "--insecure", "--quiet", "--retries", "0"])
        #expect(quiet.stderr.split(separator: "\n").count == 1 && !quiet.stderr.contains("warning"), "\(quiet.stderr)")
    }
}
