import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
import SourcesHTTP

/// How pkgfetch talks to servers: TLS and timeouts of the transport every backend shares.
struct TransportOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("CA bundle (PEM) trusted besides the system's.", valueName: "file"), completion: .file())
    var caFile: String?

    @Flag(name: .long, help: "Do not verify TLS certificates (says so on stderr).")
    var insecure = false

    @Option(name: .long, help: ArgumentHelp("A transfer slower than 1 byte/s for this long is cut.", valueName: "duration"))
    var stallTimeout: DurationArgument = DurationArgument(.seconds(30))

    @Option(name: .long, help: ArgumentHelp("Give up opening a connection after this long (then the attempt is retried, or the next source tried).", valueName: "duration"))
    var connectTimeout: DurationArgument = DurationArgument(.seconds(30))

    @Option(name: .long, help: ArgumentHelp("Connections open at once for the whole run; a file of 24 MiB or more from a server that serves byte ranges, over a link that caps each connection, is fetched over up to this many (1: one stream per file).", valueName: "n"))
    var connections = 4

    func validate() throws {
        if !(1...64).contains(connections) { throw ValidationError("--connections must be between 1 and 64") }
        if connectTimeout.duration <= .zero { throw ValidationError("--connect-timeout must be more than zero") }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ValidationError("--ca-file \(caFile): cannot read the file")
        }
    }

    /// The transport; `--insecure` says so on stderr, unless `quiet`.
    func transport(quiet: Bool) -> CurlTransport {
        if insecure, !quiet { StderrLogHandler.print(level: .warning, "--insecure: TLS certificates are not verified") }
        return CurlTransport(options: .init(caFile: caFile, insecure: insecure, connectTimeout: connectTimeout.duration))
    }
}
