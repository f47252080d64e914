import Foundation
import Pipeline
@testable import PkgfetchCommand
import Testing

/// One grammar for durations and sizes (issue 24, item 8): Go's duration forms, as hosts.toml takes
/// them, and sizes with fractions and binary units; defaults shown as people write them.
@Suite struct FlagGrammarTests {
    @Test(arguments: [("300s", 300_000), ("1m30s", 90_000), ("1.5m", 90_000), ("250ms", 250), ("2h", 7_200_000),
                      ("300", 300_000), ("0.5", 500), ("1h2m3s", 3_723_000), ("1500us", 1), ("0", 0)])
    func durationsInGoForms(text: String, milliseconds: Int64) {
        #expect(DurationArgument(argument: text)?.duration.milliseconds == milliseconds, "\(text)")
    }

    @Test(arguments: ["", "m", "1x", "-1s", "1.5.2s", "s1", "1 s", "1e3s", "1e3", "0x10", "inf", "nan", "-5", "11y", "100000h", "400000000"])
    func notDurations(text: String) {
        #expect(DurationArgument(argument: text) == nil, "\(text)")
    }

    /// hosts.toml's dial_timeout goes through the same parser: bare numbers stay Go's (refused there).
    @Test func hostsTOMLAndFlagsShareOneParser() {
        #expect(DurationText.parse("1m30s") == .seconds(90))
        #expect(DurationText.parse("200ms") == .milliseconds(200))
        #expect(DurationText.parse("30") == nil)
    }

    @Test(arguments: [("4G", Int64(4) << 30), ("1.5G", Int64(3) << 29), ("512M", Int64(512) << 20), ("4GiB", Int64(4) << 30),
                      ("4gb", Int64(4) << 30), ("4096", Int64(4096)), ("10K", Int64(10240)), ("1T", Int64(1) << 40), ("7b", Int64(7))])
    func sizes(text: String, bytes: Int64) {
        #expect(ByteCountArgument(argument: text)?.bytes == bytes, "\(text)")
    }

    @Test(arguments: ["", "G", "1.5", "-1G", "4X", "4 G", "1e3", "99999999999T"])
    func notSizes(text: String) {
        #expect(ByteCountArgument(argument: text) == nil, "\(text)")
    }

    @Test func defaultsAreShownAsPeopleWriteThem() {
        #expect(ByteCountArgument(4 << 30).defaultValueDescription == "4G")
        #expect(ByteCountArgument(1536 << 10).defaultValueDescription == "1536K")
        #expect(ByteCountArgument(1000).defaultValueDescription == "1000")
        #expect(DurationArgument(.seconds(300)).defaultValueDescription == "5m")
        #expect(DurationArgument(.seconds(90)).defaultValueDescription == "1m30s")
        #expect(DurationArgument(.seconds(30)).defaultValueDescription == "30s")
        #expect(DurationArgument(.milliseconds(250)).defaultValueDescription == "250ms")
    }

    @Test func helpStatesTheGrammarAndShowsDefaultsReadably() {
        let help = Pkgfetch.helpMessage(for: FetchCommand.self, columns: 400)
        #expect(help.contains("300s, 1m30s, 1.5m, 250ms, 2h"), "\(help)")
        #expect(help.contains("4G, 1.5G, 512M, 4GiB"), "\(help)")
        #expect(help.contains("(default: 4G)"), "\(help)")
        #expect(help.contains("(default: 5m)"), "\(help)")
        #expect(!help.contains("4294967296"), "\(help)")
    }

    /// `fetch --help` names --dest, -o/--output and --sha256 first, before the ~70 lines of other options.
    @Test func fetchHelpListsWhereToPutItFirst() throws {
        let help = Pkgfetch.helpMessage(for: FetchCommand.self, columns: 400)
        let options = help.split(separator: "\n").filter { $0.hasPrefix("  -") }.map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(options.count > 40)
        #expect(options.prefix(3).map { String($0.prefix(20)) } == ["--dest <dir>        ", "-o, --output <file> ", "--sha256 <hex>      "],
                "\(options.prefix(3))")
    }
}

/// Usage errors point to the help to read and name an unknown command (issue 24, item 10).
@Suite struct UsageHintTests {
    @Test func helpNamesTheSubcommand() {
        #expect(UsageHints.helpCommand(["pkgfetch", "fetch", "--dset"]) == "pkgfetch help fetch")
        #expect(UsageHints.helpCommand(["pkgfetch", "--nope"]) == "pkgfetch help")
    }

    @Test func unknownCommandsAreNamedWithTheClosest() {
        #expect(UsageHints.unknownSubcommand(["pkgfetch", "fecth", "x"])?.message.hasPrefix("unknown command 'fecth' (did you mean 'fetch'?)") == true)
        #expect(UsageHints.unknownSubcommand(["pkgfetch", "bacth"])?.message.hasPrefix("unknown command 'bacth' (did you mean 'batch'?)") == true)
        #expect(UsageHints.unknownSubcommand(["pkgfetch", "download"])?.message.hasPrefix("unknown command 'download'; the commands are fetch,") == true)
        for known in [["pkgfetch", "fetch"], ["pkgfetch", "help", "fetch"], ["pkgfetch", "--version"], ["pkgfetch"]] {
            #expect(UsageHints.unknownSubcommand(known) == nil, "\(known)")
        }
        #expect(UsageHints.editDistance("", "abc") == 3 && UsageHints.editDistance("kitten", "sitting") == 3)
    }
}
