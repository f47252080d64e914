#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// What `fetch` prints when it ends: a line for people, or one JSON object with `--json`.
enum ResultReport {
    static func success(_ result: RunResult, json: Bool, quiet: Bool, extra: [String: Any] = [:]) {
        if json {
            var object: [String: Any] = [
                "outcome": "ok", "exitCode": 0, "package": result.plan.package, "fileName": result.plan.fileName,
                "source": result.source.redacted, "scheme": result.source.scheme, "digest": result.digest.description,
                "bytes": result.bytes, "destination": result.destination, "durationMs": result.durationMs,
            ]
            if let version = result.plan.version { object["version"] = version }
            if let reference = result.plan.reference { object["reference"] = reference }
            if let entries = result.unpackedEntries { object["entries"] = entries }
            // A set of files has no one file name: `files` names them.
            if let files = result.files { object["files"] = files; object["fileName"] = nil }
            printJSON(object.merging(extra) { _, new in new })
        } else if !quiet {
            let version = result.plan.version.map { " \($0)" } ?? ""
            // Written at once, not buffered: a batch's lines appear as packages land.
            StandardStream.output.write(Data("installed \(result.plan.package)\(version) from \(result.source) -> \(result.destination) (\(result.bytes) bytes, \(result.digest), \(result.durationMs) ms)\n".utf8))
        }
    }

    static func failure(_ failure: PkgfetchError, extra: [String: Any] = [:]) {
        let object: [String: Any] = ["outcome": "failed", "error": failure.name, "exitCode": Int(failure.kind.exitCode),
                                     "message": failure.message]
        printJSON(object.merging(extra) { _, new in new })
    }

    /// One JSON value (an object or an array) on one line of stdout.
    static func printJSON(_ value: Any) {
        guard let text = JSONAny.text(value) else { return }
        StandardStream.output.write(Data((text + "\n").utf8))
    }
}
