import Foundation
import Pipeline
import PipelineTesting
import PkgfetchCommand
import TeamStore
import Testing

/// The team's backend, as the team would test it: pkgfetch's conformance suite in one line, and the
/// team's own command (Sources/pkgfetch-team) fetching its scheme end to end.
@Suite struct TeamStoreTests {
    struct Subject: FetcherConformanceSubject {
        let server: ObjectStoreServer
        var fetcher: any Fetcher { ObjectStoreFetcher() }

        func publish(_ content: Data, as name: String) async throws -> Source {
            server.put("bucket/\(name)", content)
            return Source(scheme: "objstore", location: server.url("bucket/\(name)"))
        }

        func replace(_ source: Source, with content: Data) async throws {
            server.put(String(URLComponents(string: source.location)!.path.dropFirst()), content)
        }

        func missing() async throws -> Source { Source(scheme: "objstore", location: server.url("bucket/missing.bin")) }
    }

    @Test func passesTheFetcherConformanceSuite() async throws {
        try await FetcherConformance.check(Subject(server: try ObjectStoreServer()), capabilities: TeamStoreBackend().descriptor.capabilities)
    }

    /// The registration alone, without the command: its declared option reaches the fetcher, from the
    /// command line before the environment.
    @Test func theRegistrationBuildsItsFetcherFromItsOptions() throws {
        let backend = TeamStoreBackend()
        #expect(backend.descriptor.schemes == ["teamstore"])
        let given = SharedTransport(options: BackendOptionValues(given: ["teamstore-tenant": "ops"], environment: ["TEAMSTORE_TENANT": "dev"]))
        #expect((try backend.makeFetcher(given) as? ObjectStoreFetcher)?.tenant == "ops")
        let fromEnvironment = SharedTransport(options: BackendOptionValues(environment: ["TEAMSTORE_TENANT": "dev"]))
        #expect((try backend.makeFetcher(fromEnvironment) as? ObjectStoreFetcher)?.tenant == "dev")
        #expect((try backend.makeFetcher(SharedTransport(options: BackendOptionValues(environment: [:]))) as? ObjectStoreFetcher)?.tenant == "team")
    }

    /// Fetched, verified and unpacked like a CDN download; another tenant's object is not found and
    /// exits with the not-found code a download gets (21), named `teamstore-not-found`, without a line of
    /// exit-code code in the backend.
    @Test func theTeamCommandFetchesItsOwnScheme() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("teamstore-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work + "/tree/bin", withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho tool\n".utf8).write(to: URL(fileURLWithPath: work + "/tree/bin/tool"))
        #expect(try Command.run(["/bin/tar", "-czf", work + "/tool.tar.gz", "-C", work + "/tree", "bin"]).status == 0)
        let archive = try Data(contentsOf: URL(fileURLWithPath: work + "/tool.tar.gz"))
        let server = try ObjectStoreServer()
        server.put("bucket/tools/tool.tar.gz", archive, tenant: "team")
        let url = server.url("bucket/tools/tool.tar.gz").replacingOccurrences(of: "objstore://", with: "teamstore://")

        let sha256 = try Command.run(["/usr/bin/sha256sum", work + "/tool.tar.gz"]).stdout.prefix(64)
        let run = try Command.team(["fetch", url, "--dest", work + "/opt", "--sha256", String(sha256)])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOfFile: work + "/opt/bin/tool", encoding: .utf8) == "#!/bin/sh\necho tool\n")

        let plugins = try Command.team(["plugins"])
        #expect(plugins.stdout.contains("  teamstore  ObjectStoreFetcher"), "\(plugins.stdout)")
        #expect(plugins.stdout.contains("  https      HTTPFetcher"), "the built-in backends are all there: \(plugins.stdout)")

        #expect(plugins.stdout.contains("teamstore-tenant (teamstore): Tenant whose objects"), "its option is listed: \(plugins.stdout)")

        // The tenant is the backend's declared option, a flag of its own, from the environment or the command
        // line: another tenant's object is not found (21, named after the backend); the flag wins over the
        // environment; the generic --backend-option spelling works too.
        let other = try Command.team(["fetch", url, "--output", work + "/other.bin"], environment: ["TEAMSTORE_TENANT": "someone-else"])
        #expect(other.status == 21, "\(other.stderr)")
        #expect(other.stderr.contains("error[teamstore-not-found]: ") && other.stderr.contains("no object"), "\(other.stderr)")
        let flagged = try Command.team(["fetch", url, "--output", work + "/flagged.bin", "--teamstore-tenant", "someone-else"])
        #expect(flagged.status == 21, "\(flagged.stderr)")
        let both = try Command.team(["fetch", url, "--output", work + "/both.bin", "--teamstore-tenant=team"],
                                    environment: ["TEAMSTORE_TENANT": "someone-else"])
        #expect(both.status == 0, "\(both.stderr)")
        let generic = try Command.team(["fetch", url, "--output", work + "/generic.bin", "--backend-option", "teamstore-tenant=team"],
                                       environment: ["TEAMSTORE_TENANT": "someone-else"])
        #expect(generic.status == 0, "\(generic.stderr)")
        let undeclared = try Command.team(["fetch", url, "--output", work + "/none.bin", "--backend-option", "tenant=team"])
        #expect(undeclared.status == 2 && undeclared.stderr.contains("teamstore-tenant"), "\(undeclared.stderr)")
        let mistyped = try Command.team(["fetch", url, "--output", work + "/typo.bin", "--teamstore-tenent", "team"])
        #expect(mistyped.status == 2 && mistyped.stderr.contains("Unknown option '--teamstore-tenent'. Did you mean '--teamstore-tenant'?"),
                "\(mistyped.stderr)")
        let valueless = try Command.team(["fetch", url, "--output", work + "/bare.bin", "--teamstore-tenant"])
        #expect(valueless.status == 2 && valueless.stderr.contains("--teamstore-tenant needs a value"), "\(valueless.stderr)")
    }

    /// The declared option is a flag of the commands that fetch as much as a built-in one is: in their
    /// help under a section of its own, with its environment fallback, in every shell's completions, and
    /// in what the man page is made from; commands that do not fetch do not offer it.
    @Test func theDeclaredOptionIsAFlagInHelpCompletionsAndManPage() throws {
        for command in ["fetch", "batch", "components"] {
            let help = try Command.team([command, "--help"])
            #expect(help.status == 0, "\(help.stderr)")
            let section = help.stdout.components(separatedBy: "TEAMSTORE BACKEND:\n").dropFirst().first ?? ""
            #expect(section.hasPrefix("  --teamstore-tenant <value>"), "\(command) --help: \(help.stdout)")
            #expect(section.contains("(environment: $TEAMSTORE_TENANT; default: team)"), "\(help.stdout)")
        }
        #expect(try !Command.team(["resolve", "--help"]).stdout.contains("teamstore-tenant"))
        let resolve = try Command.team(["resolve", "https://example.com/x.tar.gz", "--teamstore-tenant", "team"])
        #expect(resolve.status == 2, "a command that does not fetch has no such flag: \(resolve.stderr)")

        let bash = try Command.team(["--generate-completion-script", "bash"]).stdout
        #expect(bash.contains("--backend-option --teamstore-tenant"), "\(bash)")
        let zsh = try Command.team(["--generate-completion-script", "zsh"]).stdout
        #expect(zsh.contains("'--teamstore-tenant[teamstore backend\\: Tenant whose objects"), "\(zsh)")
        let fish = try Command.team(["--generate-completion-script", "fish"]).stdout
        #expect(fish.contains("-l 'teamstore-tenant' -d 'teamstore backend: Tenant whose objects"), "\(fish)")
        #expect(fish.components(separatedBy: "-l 'teamstore-tenant'").count - 1 >= 3, "fetch, batch and components offer it: \(fish)")

        let dump = try Command.team(["--experimental-dump-help"])
        let tool = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        let commands = ((tool["command"] as? [String: Any])?["subcommands"] as? [[String: Any]]) ?? []
        let fetch = try #require(commands.first { $0["commandName"] as? String == "fetch" })
        let flag = ((fetch["arguments"] as? [[String: Any]]) ?? []).first { ($0["preferredName"] as? [String: Any])?["name"] as? String == "teamstore-tenant" }
        #expect(flag?["sectionTitle"] as? String == "TEAMSTORE BACKEND")
        #expect((flag?["abstract"] as? String)?.hasPrefix("teamstore backend: Tenant") == true)
        #expect((flag?["abstract"] as? String)?.contains("$TEAMSTORE_TENANT") == true)
    }
}

/// Runs the team's command (built next to this test bundle) or a tool.
enum Command {
    static func team(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let products = Bundle.main.executableURL?.deletingLastPathComponent().path
            ?? (CommandLine.arguments[0] as NSString).deletingLastPathComponent
        let candidates = [products + "/pkgfetch-team", (CommandLine.arguments[0] as NSString).deletingLastPathComponent + "/pkgfetch-team"]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "pkgfetch-team not found in \(candidates); build the package first"])
        }
        return try run([path] + arguments, environment: environment)
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("teamstore-out-\(UUID().uuidString)")
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("teamstore-err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }
}
