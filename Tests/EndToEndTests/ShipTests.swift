import Foundation
import Testing
import TestSupport

/// pkgfetch as a node image gets it: `--version`, `make install`, `make dist`. The make targets are
/// given the debug binary (PKGFETCH_BINARY), so no release build runs here: that takes minutes.
@Suite(.serialized, .offPool) struct ShipTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func make(_ arguments: [String]) throws -> ProcessOutput {
        try Processes.run(["make", "-C", packageRoot, "--no-print-directory"] + arguments)
    }

    /// The libraries named are the ones loaded: the same versions the system's curl and bsdtar report
    /// (they load the same shared libraries).
    @Test func versionNamesTheLibcurlTLSAndLibarchiveItRunsWith() throws {
        let run = try PkgfetchCLI.run(["--version"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 3, "\(run.stdout)")
        #expect(lines[0].wholeMatch(of: /pkgfetch [0-9]+\.[0-9]+\.[0-9]+/) != nil, "\(lines[0])")

        let curl = try Processes.check(["curl", "--version"]).stdout   // curl 7.88.1 (…) libcurl/7.88.1 OpenSSL/3.0.19 …
        let words = curl.split(separator: "\n")[0].split(separator: " ")
        let libcurl = try #require(words.first { $0.hasPrefix("libcurl/") }).dropFirst("libcurl/".count)
        let tls = try #require(words.first { $0.hasPrefix("OpenSSL/") || $0.hasPrefix("GnuTLS/") || $0.hasPrefix("mbedTLS/") })
        #expect(lines[1] == "libcurl \(libcurl) (TLS: \(tls))")

        let bsdtar = try Processes.check(["bsdtar", "--version"]).stdout   // bsdtar 3.6.2 - libarchive 3.6.2 zlib/…
        let details = try #require(bsdtar.split(separator: "\n")[0].components(separatedBy: " - ").last?.trimmingCharacters(in: .whitespaces))
        #expect(lines[2] == details)
    }

    /// The binary links FoundationEssentials, never full Foundation: one `import Foundation` anywhere in
    /// the product brings back ICU's data and makes the static binary 52 → 100 MB (issue 25). The debug
    /// build links Foundation dynamically, so its needed libraries show it at once.
    @Test func theBinaryLinksNoFullFoundationAndNoICU() throws {
        let dynamic = try Processes.check(["readelf", "-d", try PkgfetchCLI.path]).stdout
        let needed = dynamic.split(separator: "\n").compactMap { line in
            line.contains("(NEEDED)") ? line.split(separator: "[").last?.split(separator: "]").first.map(String.init) : nil
        }
        #expect(needed.contains("libFoundationEssentials.so"), "\(needed)")
        let full = needed.filter { $0.hasPrefix("libFoundation.") || $0.hasPrefix("libFoundationInternationalization") || $0.contains("ICU") || $0.hasPrefix("libFoundationNetworking") }
        #expect(full.isEmpty, "the product imports full Foundation somewhere (use FoundationEssentials): \(full)")
    }

    /// libarchive's chain (libxml2, ICU, libacl, the compressors) is loaded when something is unpacked
    /// or `--version` names it, not at start-up (issue 25): the binary does not link it, and a command
    /// that unpacks nothing never opens it.
    @Test func libarchiveIsNotLoadedByACommandThatUnpacksNothing() throws {
        let dynamic = try Processes.check(["readelf", "-d", try PkgfetchCLI.path]).stdout
        #expect(!dynamic.contains("libarchive"), "\(dynamic)")
        var environment = ProcessInfo.processInfo.environment
        environment["LD_DEBUG"] = "files"
        let codes = try Processes.run([try PkgfetchCLI.path, "exit-codes"], environment: environment)
        #expect(codes.status == 0)
        #expect(codes.stderr.contains("libcurl.so"), "LD_DEBUG=files lists the libraries opened")
        #expect(!codes.stderr.contains("libarchive.so"))
        let version = try Processes.run([try PkgfetchCLI.path, "--version"], environment: environment)
        #expect(version.stderr.contains("libarchive.so"))
    }

    @Test func makeInstallPutsTheBinaryCompletionsAndAManPageUnderDestdirAndPrefix() throws {
        let work = try TemporaryDirectory("make-install")
        let run = try Self.make(["install", "DESTDIR=\(work.path)", "PREFIX=/usr", "PKGFETCH_BINARY=\(try PkgfetchCLI.path)"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let root = work.join("usr")
        let installed = root + "/bin/pkgfetch"
        #expect(try Files.sha256(installed) == (try Files.sha256(try PkgfetchCLI.path)))
        #expect(FileManager.default.isExecutableFile(atPath: installed))
        #expect(try Processes.run([installed, "--version"]).stdout.hasPrefix("pkgfetch "))

        // Each shell loads its script and learns pkgfetch's subcommands and flags from it.
        let bash = try Processes.run(["bash", "-c", "source \(root)/share/bash-completion/completions/pkgfetch && complete -p pkgfetch"])
        #expect(bash.status == 0 && bash.stdout.contains("pkgfetch"), "\(bash.stderr)")
        let zsh = try String(contentsOfFile: root + "/share/zsh/site-functions/_pkgfetch", encoding: .utf8)
        #expect(zsh.hasPrefix("#compdef pkgfetch"))
        let fish = try String(contentsOfFile: root + "/share/fish/vendor_completions.d/pkgfetch.fish", encoding: .utf8)
        #expect(fish.contains("complete -c 'pkgfetch'") && fish.contains("agent-events-dir"))
        // Path options complete paths: files, or directories (issue 24, item 4).
        let fishLines = fish.split(separator: "\n")
        func completion(_ command: String, _ option: String) -> String {
            fishLines.first { $0.contains("\"pkgfetch \(command)\"") && $0.contains("-l '\(option)' ") }.map(String.init) ?? ""
        }
        for option in ["output", "rules", "events", "registry-config", "ca-file"] {
            #expect(completion("fetch", option).hasSuffix(" -rF"), "\(option): \(completion("fetch", option))")
        }
        for option in ["dest", "cache-dir", "hosts-dir", "agent-events-dir", "helpers-dir"] {
            #expect(completion("fetch", option).hasSuffix("-rfa '(__pkgfetch_complete_directories)'"), "\(option): \(completion("fetch", option))")
        }
        #expect(fish.contains("__pkgfetch_should_offer_completions_for_positional \"pkgfetch batch\" -eq 1' -F"))
        #expect(fish.contains("__pkgfetch_should_offer_completions_for_positional \"pkgfetch components\" -eq 1' -F"))

        let manual = try String(contentsOfFile: root + "/share/man/man1/pkgfetch.1", encoding: .utf8)
        #expect(manual.contains(".Dt PKGFETCH 1"))
        for subcommand in ["fetch", "batch", "resolve", "exit-codes"] { #expect(manual.contains(".It Em \(subcommand)"), "\(subcommand)") }
        #expect(manual.contains("agent-events-dir"))
        // EXIT STATUS is the stable table, every row of it, not generate-manual's "0 on success, >0 on error".
        #expect(!manual.contains(".Ex -std"))
        let table = try #require(try JSONSerialization.jsonObject(with: Data(try PkgfetchCLI.run(["exit-codes", "--json"]).stdout.utf8)) as? [[String: Any]])
        #expect(table.count > 10)
        for row in table {
            let code = try #require(row["code"] as? Int), name = try #require(row["name"] as? String)
            #expect(manual.contains(".It \(code)\n\\&\(name): "), "\(code) \(name)")
        }
        // Defaults, as --help shows them; ENVIRONMENT, FILES and EXAMPLES; a header naming the manual as
        // Linux pages do, not "BSD General Commands Manual" (issue 24, item 7).
        #expect(manual.contains(".It Fl -timeout Ar duration\nTimeout of each attempt") && manual.contains("(default: 5m)\n"), "\(manual)")
        #expect(manual.contains("(default: 4G)\n") && manual.contains("(default: /etc/containerd/certs.d)\n"))
        for section in [".Sh ENVIRONMENT", ".Sh FILES", ".Sh EXAMPLES"] { #expect(manual.contains("\n\(section)\n"), "\(section)") }
        #expect(manual.contains(".Os pkgfetch "))
        let rendered = try Processes.run(["groff", "-mdoc", "-Tutf8", root + "/share/man/man1/pkgfetch.1"])
        #expect(rendered.status == 0, "groff (Debian: groff-base) renders the page: \(rendered.stderr)")
        let header = rendered.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(header.contains("General Commands Manual") && !header.contains("BSD"), "\(header)")
        #expect(rendered.stdout.contains("pkgfetch fetch https://example.com/tool.tar.gz -o /tmp/tool.tar.gz"))
        let modes = try [root + "/bin/pkgfetch", root + "/share/man/man1/pkgfetch.1"].map {
            (try FileManager.default.attributesOfItem(atPath: $0)[.posixPermissions] as? Int) ?? 0
        }
        #expect(modes == [0o755, 0o644])
    }

    /// Built from HEAD (git archive), named after the version, with a checksum file that verifies; the
    /// same commit packed twice gives the same bytes.
    @Test func makeDistPacksHEADIntoAVersionedTarballTheSameTwice() throws {
        let work = try TemporaryDirectory("make-dist")
        let binary = try PkgfetchCLI.path
        var digests: [String] = []
        for round in ["one", "two"] {
            let run = try Self.make(["dist", "PKGFETCH_BINARY=\(binary)", "DIST_WORK=\(work.join("work-\(round)"))",
                                     "DIST_DIR=\(work.join(round))"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let names = try FileManager.default.contentsOfDirectory(atPath: work.join(round)).sorted()
            let version = try #require(try PkgfetchCLI.run(["--version"]).stdout.split(separator: "\n").first?.split(separator: " ").last)
            let tarball = "pkgfetch-\(version)-linux-\(try Processes.check(["uname", "-m"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)).tar.gz"
            #expect(names == [tarball, tarball + ".sha256"])
            let check = try Processes.run(["bash", "-c", "cd \(work.join(round)) && sha256sum -c \(tarball).sha256"])
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            digests.append(try Files.sha256(work.join(round) + "/" + tarball))

            let listing = try Processes.check(["tar", "-tzf", work.join(round) + "/" + tarball]).stdout
            let top = String(tarball.dropLast(".tar.gz".count))
            for path in ["bin/pkgfetch", "share/man/man1/pkgfetch.1", "share/bash-completion/completions/pkgfetch",
                         "share/zsh/site-functions/_pkgfetch", "share/fish/vendor_completions.d/pkgfetch.fish",
                         "share/doc/pkgfetch/README.md"] {
                #expect(listing.contains("\(top)/\(path)\n"), "\(path) in \(listing)")
            }
            // The packed README is the committed one, whatever the working tree holds.
            let committed = try Processes.check(["git", "-C", Self.packageRoot, "show", "HEAD:README.md"]).stdout
            let packed = try Processes.check(["tar", "-xzOf", work.join(round) + "/" + tarball, "\(top)/share/doc/pkgfetch/README.md"]).stdout
            #expect(packed == committed)
        }
        #expect(digests[0] == digests[1], "the same commit packed twice differs")
    }
}
