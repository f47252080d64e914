#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Plans whose source names the files (`Plan.fileNamedBySource`): the source is asked what it holds
/// (`ListingFetcher`) before anything is fetched. One file is then fetched as any plan's file is; several
/// are each fetched and verified, placed under their names in one staged tree, and installed together
/// with the tree install an unpacked archive uses, so the destination has all of them or none.
extension PipelineRunner {
    /// What the plan's first listable source holds, asked with the run's retries and per-attempt timeout.
    func listing(for plan: Plan, deadline: ContinuousClock.Instant?) async throws -> SourceListing {
        guard let (source, lister) = plan.sources.lazy.compactMap({ source in
            ((try? self.plugins.fetcher(forScheme: source.scheme)) as? any ListingFetcher).map { (source, $0) }
        }).first else {
            let schemes = Set(plan.sources.map(\.scheme)).sorted().joined(separator: ", ")
            throw PkgfetchError(.noSource, "no registered fetcher can list what the plan's sources (\(schemes)) hold")
        }
        return try await withRetries(task: "list", source: source, plan: plan, deadline: deadline) { context, attemptStart in
            let listing = try await lister.list(source, context: context)
            guard !listing.files.isEmpty else {
                throw PkgfetchError(.noMatchingContent, "\(source.redacted) holds no file")
            }
            self.events.emit(task: "list", source: source, since: attemptStart, outcome: "ok", attempt: context.attempt)
            return listing
        }
    }

    /// The plan for one listed file: named by it (so its format and a cached copy are found by that
    /// name), expecting its digest and size, fetched from its own source after a cached copy.
    /// `--sha256` given with the request stays what is expected.
    func plan(_ plan: Plan, narrowedTo file: ListedFile, cacheDirectories: [String]) -> Plan {
        var narrowed = plan
        narrowed.fileNamedBySource = false
        narrowed.fileName = file.name
        narrowed.format = file.format ?? ArchiveFormat.infer(fromFileName: file.name)
        narrowed.expectedDigest = plan.expectedDigest ?? file.expected.digest
        narrowed.expectedSize = file.expected.size
        narrowed.sources = [file.source]
        narrowed.cachedCopy = nil
        if let cached = CacheLookup.findCopy(file.name, in: cacheDirectories) {
            narrowed.sources.insert(Source(scheme: "file", location: cached.path), at: 0)
            narrowed.cachedCopy = cached
        }
        return narrowed
    }

    /// Fetches every file of `listing` into one staged tree, each under its name and verified against
    /// its digest and size, then installs the tree into the `--dest` directory (merged or replaced).
    func runSet(_ listing: SourceListing, plan: Plan, request: PackageRequest, start: ContinuousClock.Instant,
                deadline: ContinuousClock.Instant?) async throws -> RunResult {
        let names = listing.files.map(\.name)
        let shown = names.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (names.count > 5 ? ", …" : "")
        guard case .directory(let path, let mode, _) = request.target else {
            throw PkgfetchError(.usage, "\(plan.reference ?? plan.package) holds \(names.count) files (\(shown)); --output saves one file: "
                                    + "give --dest DIR to write each under its name")
        }
        if request.expectedDigest != nil {
            throw PkgfetchError(.usage, "--sha256 names one file, and \(plan.reference ?? plan.package) holds \(names.count) (\(shown)): "
                                    + "pin the artifact by its manifest digest (@sha256:…) instead")
        }
        // The set becomes a tree as an archive does: the same limits, checked before a byte is fetched.
        let what = plan.reference ?? plan.package
        if names.count > unpackLimits.maxEntries {
            throw PkgfetchError(.unsafeArchive, "\(what) holds \(names.count) files, more than \(unpackLimits.maxEntries) (entry-count limit, --max-entries)")
        }
        let total = listing.files.reduce(Int64(0)) { sum, file in sum &+ max(0, file.expected.size ?? 0) }
        if total > unpackLimits.maxTotalBytes || total < 0 {
            throw PkgfetchError(.unsafeArchive, "\(what)'s files add up to more than \(unpackLimits.maxTotalBytes) bytes (total-size limit, --max-unpacked-size)")
        }
        let staging = try await BlockingIO.shared.run {
            try StagingArea(for: request.target, role: .unpacked, interruption: interruption)
        }
        let outcome: Result<RunResult, PkgfetchError>
        do {
            let tree = try await BlockingIO.shared.run { try staging.directory(named: "tree") }
            var bytes: Int64 = 0
            var last: Source?
            // Each titled file is a member of the set, shaped as an archive's member would be, before a byte is fetched.
            var shaping = ShapingPass(request.shaping)
            let placedNames = try listing.files.map { file in
                try shaping.place([Array(file.name.utf8)], isDirectory: false).map { String(decoding: $0[0], as: UTF8.self) }
            }
            try shaping.finish()
            for (index, file) in listing.files.enumerated() {
                guard let placedName = placedNames[index] else { continue }
                let filePlan = self.plan(plan, narrowedTo: file, cacheDirectories: request.cacheDirectories)
                let fetched = try await fetchFirstAvailable(filePlan, staging: staging, streamed: nil, deadline: deadline,
                                                            stagingName: "file-\(index)")
                let placed = tree.appendingPath(placedName)
                try await BlockingIO.shared.run { try FileSystem.rename(fetched.file.path, to: placed) }
                bytes += fetched.size
                last = fetched.source
            }
            let installStart = clock.now
            let source = plan.sources.first ?? last!
            do {
                let (durable, interruption) = (durableInstall, interruption)
                try await BlockingIO.shared.run {
                    try Installer.installTree(tree, into: path, mode: mode, durable: durable, interruption: interruption)
                }
                events.emit(task: "install", source: source, bytes: bytes, since: installStart, outcome: "ok")
            } catch {
                let failure = PkgfetchError.from(error)
                events.emit(task: "install", source: source, since: installStart, outcome: "failed", error: failure)
                throw failure
            }
            outcome = .success(RunResult(plan: plan, source: source, digest: listing.digest, bytes: bytes,
                                         destination: FileSystem.absolute(path), unpackedEntries: placedNames.compactMap { $0 }.count,
                                         durationMs: Int((clock.now - start).milliseconds), files: placedNames.compactMap { $0 }))
        } catch {
            outcome = .failure(PkgfetchError.from(error))
        }
        await remove(staging)
        return try outcome.get()
    }
}
