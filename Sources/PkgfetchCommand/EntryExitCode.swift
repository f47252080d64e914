import ArgumentParser
import Pipeline

/// A package's own exit code (`exitCode` in a batch list, `--exit-code NAME=CODE` for `components`):
/// when that package is the first to fail, the run exits with it instead of its error kind's, so the
/// node scripts keep the codes their telemetry already knows. The error line still names the kind.
struct EntryExitCode: Error {
    var failure: PkgfetchError
    var code: Int32

    /// `failure`, exiting with `code` when one was chosen (never for an interrupted run: that is 130).
    static func failing(_ failure: PkgfetchError, code: Int32?) -> any Error {
        guard let code, failure.kind != .interrupted else { return failure }
        return EntryExitCode(failure: failure, code: code)
    }
}

/// `--exit-code NAME=CODE`: a package's own exit code, 1 to 255.
struct PackageExitCode: ExpressibleByArgument, Sendable {
    var name: String
    var code: Int32

    init?(argument: String) {
        guard let equals = argument.lastIndex(of: "="), let code = Int32(argument[argument.index(after: equals)...]),
              (1...255).contains(code), equals != argument.startIndex else { return nil }
        name = String(argument[..<equals])
        self.code = code
    }
}
