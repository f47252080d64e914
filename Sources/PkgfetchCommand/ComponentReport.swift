import ComponentList
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// What `components` prints: failures on stderr as they happen, then one line per package on stdout
/// (`fetched`, `present`, `skipped`, `failed`; a dry run's `plan`), or with `--json` one object per package.
struct ComponentReport: Sendable {
    let run: ComponentRun
    let json: Bool
    let quiet: Bool

    /// A refused package's line, and its failed `fetch-package` event (its own operation), before the
    /// batch starts.
    func printRefusals(events: EventEmitter) {
        for package in run.plan.packages {
            guard case .refused(let reason) = package.outcome else { continue }
            let failure = PkgfetchError(.resolveFailed, "package \(package.name): refused: \(reason)")
            ErrorReport.printLine(failure)
            events.sink.emit(Event(task: "fetch-package", operationId: UUID().uuidString.lowercased(), package: package.name,
                                   outcome: "failed", error: failure.name, exitCode: run.exitCodes[package.name] ?? failure.kind.exitCode))
        }
    }

    func printFailure(_ failure: PkgfetchError, of file: ComponentRun.FileRequest) {
        let name = run.plan.packages[file.package].name
        ErrorReport.printLine(PkgfetchError(failure.kind, "package \(name) \(file.file.version) (\(Redaction.url(file.file.source))): \(failure.message)"))
    }

    func printAll(_ outcomes: [PackageOutcome]) {
        for (package, outcome) in zip(run.plan.packages, outcomes) {
            if json {
                ResultReport.printJSON(object(package, outcome))
            } else if !quiet || isFailure(outcome) {
                for line in lines(package, outcome) {
                    StandardStream.output.write(Data((PrintableLine.escaping(line) + "\n").utf8))
                }
            }
        }
    }

    private func isFailure(_ outcome: PackageOutcome) -> Bool {
        if case .failed = outcome { return true }
        return false
    }

    /// One line per package; a dry run's, one per planned file.
    private func lines(_ package: PlannedPackage, _ outcome: PackageOutcome) -> [String] {
        if case .planned(let files) = outcome {
            return files.map { "plan \(package.name) \($0.version) \(Redaction.url($0.source)) -> \(root($0))" }
        }
        return [text(package, outcome)]
    }

    private func text(_ package: PlannedPackage, _ outcome: PackageOutcome) -> String {
        let name = package.name
        switch outcome {
        case .planned:
            return "plan \(name)"
        case .fetched(let results):
            return "fetched \(name) \(versions(results)) -> \(destinations(results))"
        case .present(let results):
            return "present \(name) \(versions(results)) (already in place, checked as a cached copy) -> \(destinations(results))"
        case .skipped(let reason):
            return "skipped \(name): \(reason)"
        case .failed(let failure, let version):
            return "failed \(name)\(version.map { " \($0)" } ?? ""): error[\(failure.name)] \(failure.message)"
        }
    }

    private func object(_ package: PlannedPackage, _ outcome: PackageOutcome) -> [String: Any] {
        var object: [String: Any] = ["package": package.name]
        if let entry = package.entry { object["entry"] = entry }
        switch outcome {
        case .planned(let files):
            object["outcome"] = "planned"
            object["files"] = files.map { ["version": $0.version, "source": Redaction.url($0.source), "directory": root($0)] }
        case .fetched(let results), .present(let results):
            if case .present = outcome { object["outcome"] = "present" } else { object["outcome"] = "fetched" }
            object["files"] = results.map { saved -> [String: Any] in
                ["version": saved.file.file.version, "source": saved.result.source.redacted, "destination": saved.result.destination,
                 "digest": saved.result.digest.description, "bytes": saved.result.bytes, "durationMs": saved.result.durationMs]
            }
        case .skipped(let reason):
            object["outcome"] = "skipped"
            object["reason"] = reason
        case .failed(let failure, let version):
            object["outcome"] = "failed"
            object["error"] = failure.name
            object["exitCode"] = Int(run.exitCodes[package.name] ?? failure.kind.exitCode)
            object["message"] = failure.message
            if let version { object["version"] = version }
        }
        return object
    }

    /// The planned file's directory with `--root` applied.
    private func root(_ file: PlannedFile) -> String {
        run.requests.first { $0.file == file }?.directory ?? file.directory
    }

    private func versions(_ results: [SavedFile]) -> String {
        results.map(\.file.file.version).joined(separator: ", ")
    }

    private func destinations(_ results: [SavedFile]) -> String {
        Array(Set(results.map(\.result.destination))).sorted().joined(separator: ", ")
    }
}
