import ArgumentParser
import CSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Pipeline
import SourcesHelper

/// The root command: subcommands only.
struct Pkgfetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pkgfetch",
        abstract: "Fetch, verify, unpack and install node packages from a CDN or a bootstrap registry.",
        // pkgfetch's number only: ArgumentParser reads the configuration for every command, and naming
        // the libraries loads libarchive. `ErrorReport` prints the whole report for `--version`.
        version: VersionReport.heading,
        subcommands: [FetchCommand.self, BatchCommand.self, ComponentsCommand.self, ResolveCommand.self, TagsCommand.self, PluginsCommand.self,
                      ConformanceCommand.self, ExitCodesCommand.self]
    )
}

/// The entry point: runs the command and turns every failure into one line and a stable exit code.
public enum PkgfetchMain {
    /// Runs `pkgfetch` with the process's arguments and exits with its exit code. `extraBackends` are
    /// fetched with as the built-in ones are (a URL of their scheme is fetched as it is, a rule may route
    /// to it, `pkgfetch plugins` lists it); a scheme they share with a built-in backend is theirs.
    /// A team's `main.swift` is one line: `await PkgfetchMain.main(extraBackends: [MyStoreBackend()])`.
    public static func main(extraBackends: [any Backend] = []) async -> Never {
        // Buffers of 128 KiB and more (staging blocks, libcurl's receive buffer) are mmapped, so they
        // go back to the system when freed. glibc's default raises that threshold each time such a
        // buffer is freed; a batch then kept every package's buffers in its heap arenas (30 packages:
        // 58 MiB peak instead of 36).
        _ = csystem_mmap_allocations_from(128 << 10)
        SignalHandlers.install(stopping: SignalHandlers.interruption)
        var flags = BackendFlags([])
        do {
            // The extra backends are the command's for this task: parsed, validated and registered as the
            // built-in ones; their declared options are flags of their own (`BackendFlags`).
            flags = try Backends.$extra.withValue(extraBackends) { try BackendFlags.checked() }
            let arguments = try flags.rewrite(Array(CommandLine.arguments.dropFirst()))
            try await Backends.$extra.withValue(extraBackends) {
                if let unknown = UsageHints.unknownSubcommand(CommandLine.arguments) { throw unknown }
                var command = try Pkgfetch.parseAsRoot(arguments)
                if var asyncCommand = command as? any AsyncParsableCommand {
                    try await asyncCommand.run()
                } else {
                    try command.run()
                }
            }
            end(0)
        } catch {
            leaveToSignalHandler()
            end(ErrorReport.report(error, flags: flags))
        }
    }

    /// Exits, after ending every helper process still running (they are in process groups of their
    /// own) and whatever they left behind.
    private static func end(_ code: Int32) -> Never {
        leaveToSignalHandler()
        LiveHelpers.shared.stopAll()
        exit(code)
    }

    /// A run that ended because a signal is being handled (the handler killed its helpers) is the
    /// handler's to report and end, with 130: this thread waits for that.
    private static func leaveToSignalHandler() {
        if SignalHandlers.interruption.isStopped { while true { pause() } }
    }
}

/// SIGINT, SIGTERM and SIGHUP end the run cleanly: installs in flight finish, staging is removed,
/// and the exit code is 130 (`interrupted`). Handled on a dispatch queue, not in signal context. The
/// process-wide part of stopping lives here, in the program; the runners get the switch as a value.
enum SignalHandlers {
    /// The switch every runner of this process is given (`PipelineOptions.runner`).
    static let interruption = Interruption()

    /// Held for the life of the process: a released source stops delivering. (main ends in exit(), so
    /// a local would have nothing after it to keep it alive.)
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static func install(stopping interruption: Interruption) {
        sources = [SIGINT, SIGTERM, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                interruption.stop()
                let name = number == SIGINT ? "SIGINT" : number == SIGTERM ? "SIGTERM" : "SIGHUP"
                LiveHelpers.shared.stopAll()
                ErrorReport.printLine(PkgfetchError(.interrupted, "stopped by \(name); nothing half-written was left"))
                // _exit, not exit: other threads are still running, and exit's stdio clean-up could
                // wait on a stream lock one of them holds. Everything pkgfetch prints is unbuffered.
                _exit(ErrorKind.interrupted.exitCode)
            }
            source.resume()
            return source
        }
    }
}

/// Prints a failure as `pkgfetch: error[kind]: message` on stderr and picks the exit code.
enum ErrorReport {
    /// `flags`: the backends' declared flags, added to help and completions, and suggested for a mistyped flag.
    static func report(_ error: any Error, flags: BackendFlags = BackendFlags([])) -> Int32 {
        if let failure = error as? PkgfetchError {
            printLine(failure)
            return failure.kind.exitCode
        }
        if let chosen = error as? EntryExitCode {
            printLine(chosen.failure)
            return chosen.code
        }
        if let exitCode = error as? ExitCode { return exitCode.rawValue }
        // ArgumentParser's own errors: help and version exit 0; everything else is a usage error (2).
        if Pkgfetch.exitCode(for: error) == .success {
            if Pkgfetch.fullMessage(for: error) == Pkgfetch.configuration.version {
                print(VersionReport.text)
                return 0
            }
            if flags.declared.isEmpty { Pkgfetch.exit(withError: error) }
            print(flags.augment(Pkgfetch.fullMessage(for: error), arguments: CommandLine.arguments))
            return 0
        }
        var text = flags.suggesting(Pkgfetch.message(for: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "invalid usage")
        text = text.replacing("Error: ", with: "")
        // A value that is not a duration or a size: say which forms are.
        if text.hasSuffix("<duration>'") { text += "; give \(DurationText.forms)" }
        if text.hasSuffix("<size>'") { text += "; give \(ByteSizeText.forms)" }
        printLine(PkgfetchError(.usage, text + " (see '\(UsageHints.helpCommand(CommandLine.arguments))')"))
        return ErrorKind.usage.exitCode
    }

    /// Prints the failure on a line of its own: a progress line being redrawn is ended first, its last
    /// state kept on screen above the error.
    static func printLine(_ failure: PkgfetchError) {
        StderrLine.shared.print("pkgfetch: \(failure.description)".replacing("\n", with: " "), keepingProgress: true)
    }

    /// Writes one line on stderr as it is (a helper's line, already made printable).
    static func printRaw(_ line: String) {
        StderrLine.shared.print(line)
    }
}
