import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// `pkgfetch batch LIST`: many packages in one process, sharing connections and registry tokens.
struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Fetch, verify and install every package of a JSON list in one run.",
        discussion: """
            LIST is a JSON array; each entry has "url" (a CDN URL or an OCI reference) and one of "dest" or "output", and may add \
            "sha256", "platform", "exitCode", and with "dest", "replace" and "unpack" (true/false), "include" (array of globs), \
            "stripComponents", "renameSuffix" and "rename" (as fetch's flags). Packages share \
            one connection pool and one set of registry tokens; packages that install to the same \
            directory run in list order. Every package is tried; the exit code is the first failed \
            package's (in list order: its "exitCode", else its error's), or 0.

            \(FlagGrammar.text)
            """
    )

    @Argument(help: ArgumentHelp("The JSON list of packages ('-' reads standard input).", valueName: "list"), completion: .file())
    var list: String

    @Option(name: .long, help: "Packages fetched at the same time.")
    var parallel = 4

    @OptionGroup
    var options: PipelineOptions

    func validate() throws {
        if parallel < 1 { throw ValidationError("--parallel must be at least 1") }
        if list == "-", options.registry.passwordStdin {
            throw ValidationError("the list and --password-stdin cannot both be read from standard input")
        }
    }

    func run() async throws {
        let packages = try BatchList.load(from: list).entries
        let requests = try packages.map { entry in
            var request = try options.resolution.request(url: entry.url, target: entry.target, sha256: entry.sha256, platform: entry.platform)
            request.shaping = entry.shaping
            return request
        }
        try BatchRunner.checkDestinations(requests)
        var batch = BatchRunner(runner: try options.runner(for: requests, events: try options.eventEmitter()), parallel: parallel)
        let reporter = BatchReporter(urls: packages.map(\.url), exitCodes: packages.map(\.exitCode), json: options.json, quiet: options.quiet)
        let progress = BatchProgress.onTerminal(count: requests.count, options: options)
        if let progress { batch.progress = { progress.reporter(for: $0) } }
        let outcomes = await batch.run(requests) { index, outcome in
            // A result line on stdout (perhaps the same terminal) must not land on the total line.
            StderrLine.shared.clear()
            reporter.report(index, outcome)
            progress?.ended(index)
        }
        progress?.finish()
        let failures = outcomes.enumerated().compactMap { index, outcome -> (Int, PkgfetchError)? in
            if case .failure(let failure) = outcome { return (index, failure) }
            return nil
        }
        guard let (index, first) = failures.first else { return }
        let which = failures.count == 1 ? ":" : "; the first,"
        throw EntryExitCode.failing(PkgfetchError(first.kind, "\(failures.count) of \(outcomes.count) packages failed\(which) package \(index + 1) "
                                                    + "(\(Redaction.url(packages[index].url))): \(first.message)"),
                                    code: packages[index].exitCode)
    }
}

/// Prints each package's outcome as it ends: a line for people (failures on stderr), or with
/// `--json` one JSON object per package on stdout, with its position in the list (`index`, from 1).
final class BatchReporter: Sendable {
    private let urls: [String]
    private let exitCodes: [Int32?]
    private let json: Bool
    private let quiet: Bool
    private let lock = Lock()

    init(urls: [String], exitCodes: [Int32?], json: Bool, quiet: Bool) {
        self.urls = urls
        self.exitCodes = exitCodes
        self.json = json
        self.quiet = quiet
    }

    func report(_ index: Int, _ outcome: Result<RunResult, PkgfetchError>) {
        lock.withLock {
            switch outcome {
            case .success(let result):
                ResultReport.success(result, json: json, quiet: quiet, extra: ["index": index + 1])
            case .failure(let failure):
                let url = Redaction.url(urls[index])
                if json {
                    var extra: [String: Any] = ["index": index + 1, "url": url]
                    if let code = exitCodes[index] { extra["exitCode"] = Int(code) }
                    ResultReport.failure(failure, extra: extra)
                }
                ErrorReport.printLine(PkgfetchError(failure.kind, "package \(index + 1) (\(url)): \(failure.message)"))
            }
        }
    }
}
