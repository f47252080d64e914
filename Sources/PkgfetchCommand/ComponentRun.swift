import ComponentList
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// A component plan turned into ordinary batch requests: each planned file is a request that saves
/// it as it is into its directory (merged, never unpacked), or, for a package with a recipe
/// (`--recipes`), installs it into the recipe's destination shaped as the recipe says; so the runner
/// sees plans, sources and shaping only.
struct ComponentRun {
    /// One file's request, and which package it is for.
    struct FileRequest {
        var package: Int
        var file: PlannedFile
        /// Where it is saved or installed (`--root` applied).
        var directory: String
        var request: PackageRequest
    }

    let plan: ComponentPlan
    let requests: [FileRequest]
    /// `--exit-code`: by package name.
    let exitCodes: [String: Int32]

    /// `platform` picks from a multi-platform index unless `--platform` says otherwise. A file already
    /// in its directory is offered as a cached copy, so it is checked (README "What a cached copy must
    /// show") rather than fetched again: for an https URL only a file of the URL's name right there
    /// (nothing vouches for its bytes but where it is); for a reference the directory, searched by the
    /// layer's title, each copy checked against the layer's digest.
    /// A package with a recipe in `recipes` is installed as the recipe says instead (templates expanded
    /// per version for `target`; its destination under `--root` too), and is never taken as present:
    /// only its archive would be, and that is not kept.
    init(plan: ComponentPlan, target: NodeTarget, root: String?, platform: Platform, resolution: ResolutionOptions,
         exitCodes: [String: Int32] = [:], recipes: Recipes = Recipes()) async throws {
        self.plan = plan
        self.exitCodes = exitCodes
        // Absolute, so that a copy found in place (its path absolute) is recognised as this file's.
        let prefix = root.map { FileSystem.absolute($0) }.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? ""
        var requests: [FileRequest] = []
        for (index, package) in plan.packages.enumerated() {
            guard case .fetch(let files) = package.outcome else { continue }
            for file in files {
                if let recipe = recipes.byPackage[package.name] {
                    let applied: Recipes.Applied
                    do {
                        applied = try Recipes.apply(recipe, location: file.directory, version: file.version, target: target)
                    } catch {
                        throw PkgfetchError(.usage, "recipe \(package.name) \(file.version): \(error.message)")
                    }
                    let directory = prefix + applied.destination
                    var request = try resolution.request(url: file.source, target: .directory(path: directory, mode: .merge, unpack: applied.unpack),
                                                         platform: resolution.platform ?? platform)
                    request.shaping = applied.shaping
                    requests.append(FileRequest(package: index, file: file, directory: directory, request: request))
                    continue
                }
                let directory = prefix + file.directory
                var request = try resolution.request(url: file.source, target: .directory(path: directory, mode: .merge, unpack: false),
                                                     platform: resolution.platform ?? platform)
                let name = Self.fileName(of: file.source)
                let present = try await BlockingIO.shared.run {
                    name.map { FileSystem.kind(directory + "/" + $0) == .file } ?? (FileSystem.kind(directory) == .directory)
                }
                if present { request.cacheDirectories.insert(directory, at: 0) }
                requests.append(FileRequest(package: index, file: file, directory: directory, request: request))
            }
        }
        self.requests = requests
    }

    /// The name an https URL saves under; nil for a registry reference (its layer's title names it).
    private static func fileName(of source: String) -> String? {
        guard let url = URL(string: source), url.scheme == "https" || url.scheme == "http" else { return nil }
        let name = url.path.lastPathComponent
        return name.isEmpty || name == "/" ? nil : name
    }

    /// Each package's outcome, in plan order: from its files' results after the batch, or with
    /// `nil` (a dry run) from the plan alone.
    func outcomes(of results: [Result<RunResult, PkgfetchError>]?) -> [PackageOutcome] {
        plan.packages.enumerated().map { index, package in
            switch package.outcome {
            case .skipped(let reason): return .skipped(reason)
            case .refused(let reason): return .failed(PkgfetchError(.resolveFailed, "refused: \(reason)"), version: nil)
            case .fetch(let files):
                guard let results else { return .planned(files) }
                let mine = zip(requests, results).filter { $0.0.package == index }
                for (file, result) in mine {
                    if case .failure(let failure) = result { return .failed(failure, version: file.file.version) }
                }
                let done = mine.compactMap { file, result in (try? result.get()).map { SavedFile(file: file, result: $0) } }
                let present = done.allSatisfy { saved in
                    saved.result.source.scheme == "file" && saved.result.source.location.hasPrefix(saved.file.directory + "/")
                }
                return present ? .present(done) : .fetched(done)
            }
        }
    }

    /// Throws for the first package that failed (or was refused), in plan order, with its
    /// `--exit-code` when it has one.
    func check(_ outcomes: [PackageOutcome]) throws {
        let failed = zip(plan.packages, outcomes).compactMap { package, outcome -> (PlannedPackage, String?, PkgfetchError)? in
            guard case .failed(let failure, let version) = outcome else { return nil }
            return (package, version, failure)
        }
        guard let (package, version, first) = failed.first else { return }
        let which = failed.count == 1 ? ":" : "; the first,"
        let name = package.name + (version.map { " \($0)" } ?? "")
        throw EntryExitCode.failing(PkgfetchError(first.kind, "\(failed.count) of \(plan.packages.count) packages failed\(which) \(name): \(first.message)"),
                                    code: exitCodes[package.name])
    }
}

/// How one package of a components run ended.
enum PackageOutcome {
    /// A dry run's: these files would be fetched.
    case planned([PlannedFile])
    case fetched([SavedFile])
    /// Every file was already in place, and was checked as a cached copy is.
    case present([SavedFile])
    case skipped(String)
    case failed(PkgfetchError, version: String?)
}

/// A planned file and how its fetch went.
struct SavedFile {
    var file: ComponentRun.FileRequest
    var result: RunResult
}
