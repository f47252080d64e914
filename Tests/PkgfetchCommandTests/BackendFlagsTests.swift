import Foundation
import Pipeline
@testable import PkgfetchCommand
import Testing

/// A backend's declared options as flags of their own, without building a team's command: how the
/// arguments are spelled to ArgumentParser, which names are refused, and what a typo is told.
@Suite struct BackendFlagsTests {
    struct Store: Backend {
        var options: [BackendOption] = [BackendOption("store-tenant", help: "Tenant.", environment: "STORE_TENANT")]
        var descriptor: BackendDescriptor { BackendDescriptor(name: "store", schemes: ["store"], options: options) }
        func makeFetcher(_ shared: SharedTransport) throws -> any Fetcher { FileFetcher() }
    }

    @Test func declaredFlagsAreSpelledAsTheGenericOptionInTheCommandsThatFetch() throws {
        let flags = BackendFlags([Store()])
        #expect(try flags.rewrite(["fetch", "u", "--store-tenant", "a", "--store-tenant=b", "--output", "x"])
                    == ["fetch", "u", "--backend-option", "store-tenant=a", "--backend-option", "store-tenant=b", "--output", "x"])
        #expect(try flags.rewrite(["batch", "l", "--", "--store-tenant", "a"]) == ["batch", "l", "--", "--store-tenant", "a"], "nothing after --")
        #expect(try flags.rewrite(["resolve", "u", "--store-tenant", "a"]) == ["resolve", "u", "--store-tenant", "a"], "resolve does not fetch")
        #expect(try flags.rewrite(["fetch", "u", "--store-tenants", "a"]) == ["fetch", "u", "--store-tenants", "a"], "only the declared name")
        #expect(throws: PkgfetchError.self) { try flags.rewrite(["fetch", "u", "--store-tenant"]) }
    }

    /// A declared name that is one of the command's own flags, or not a flag name, is refused at start:
    /// the rewrite would otherwise take the command's flag away from it.
    @Test(arguments: ["timeout", "dest", "Store_Tenant", "--x"])
    func aNameTheCommandHasOrCannotSpellIsRefused(name: String) throws {
        let clashing = Store(options: [BackendOption(name, help: "Clash.")])
        let failure = Backends.$extra.withValue([clashing]) { () -> PkgfetchError? in
            do { _ = try BackendFlags.checked(); return nil } catch { return error as? PkgfetchError }
        }
        #expect(failure?.kind == .internal, "\(String(describing: failure))")
        #expect(try Backends.$extra.withValue([Store()]) { try BackendFlags.checked() }.declared.map(\.option.name) == ["store-tenant"])
    }

    @Test func aMistypedFlagIsPointedAtTheDeclaredOne() {
        let flags = BackendFlags([Store()])
        #expect(flags.suggesting("Unknown option '--store-tenent'") == "Unknown option '--store-tenent'. Did you mean '--store-tenant'?")
        #expect(flags.suggesting("Unknown option '--store-tenent'. Did you mean '--stall-timeout'?")
                    == "Unknown option '--store-tenent'. Did you mean '--store-tenant'?")
        #expect(flags.suggesting("Unknown option '--dset'. Did you mean '--dest'?") == "Unknown option '--dset'. Did you mean '--dest'?")
        #expect(flags.suggesting("Missing expected argument '<url>'") == "Missing expected argument '<url>'")
    }

    /// The man page's source (`--experimental-dump-help`, rewritten with JSONAny) gains each declared
    /// flag in every command that fetches, and stays JSON that Foundation reads, its other keys kept.
    @Test func theHelpDumpAndHelpGainTheDeclaredFlag() throws {
        let json = Pkgfetch._dumpHelp()
        let dumped = BackendFlags([Store()]).dump(json)
        let tool = try #require(try JSONSerialization.jsonObject(with: Data(dumped.utf8)) as? [String: Any], "not JSON: \(dumped.prefix(200))")
        let original = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(tool.keys) == Set(original.keys))
        func names(_ command: String) -> [String] {
            let subcommands = ((tool["command"] as? [String: Any])?["subcommands"] as? [[String: Any]]) ?? []
            let arguments = (subcommands.first { $0["commandName"] as? String == command }?["arguments"] as? [[String: Any]]) ?? []
            return arguments.flatMap { ($0["names"] as? [[String: Any]]) ?? [] }.compactMap { $0["name"] as? String }
        }
        #expect(names("fetch").contains("store-tenant") && names("fetch").contains("backend-option"))
        #expect(!names("resolve").contains("store-tenant"), "resolve does not fetch")
        let help = BackendFlags([Store()]).help(FetchCommand.helpMessage())
        #expect(help.contains("STORE BACKEND:\n  --store-tenant <value>  Tenant. (environment: $STORE_TENANT)"), "\(help)")
    }
}
