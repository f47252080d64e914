import ArgumentParser
import Pipeline

/// `pkgfetch exit-codes [--json]`: the stable exit-code table.
struct ExitCodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exit-codes", abstract: "Print the table of exit codes.")

    @Flag(name: .long, help: "Print the table as a JSON array.")
    var json = false

    func run() throws {
        if json {
            let rows = ErrorKind.allCases.map { ["code": Int($0.exitCode), "name": $0.name, "when": $0.summary] as [String: Any] }
            ResultReport.printJSON(rows)
            return
        }
        for kind in ErrorKind.allCases {
            print("\(String(kind.exitCode).padded(toLength: 4))\(kind.name.padded(toLength: 24))\(kind.summary)")
        }
    }
}
