#if canImport(Glibc)
import Glibc
#endif

/// Fetches a pre-cached copy (`--cache-dir`), trusting it only as far as something vouches for it:
///
/// - a digest the plan expects (`--sha256`, a rule): the runner checks it, as for every source;
/// - else the digest of the layer a registry source would pull (`DescribingFetcher`: one manifest
///   request, not the blob), returned here for the runner to check;
/// - else nothing can check the bytes, so the copy is used only when it and every directory from the
///   cache directory down to it are owned by root or by us and writable by no one else (ssh's
///   StrictModes rule): then no other user can have put it there.
///
/// Each component below the cache directory is opened without following a symlink, and the bytes
/// are read from the very file whose owner and mode were checked. A copy that another user could
/// write is read once, into staging (`StagingFile.borrow` declines it), so the bytes unpacked are the
/// bytes hashed even if it is rewritten meanwhile.
struct CachedCopyFetcher: Fetcher {
    var copy: CachedCopy
    /// Sources that can describe the package, in plan order (a registry).
    var describers: [(source: Source, fetcher: any DescribingFetcher)]

    /// How long a registry may take to describe the package before the copy is judged without it: a
    /// registry that is down must not hold up a node that has the package at hand.
    static let describeBudget: Duration = .seconds(10)

    /// Opens the copy from its start (it never changes under a run, so there is nothing to resume),
    /// vouched for by the digest a registry describes, when one does.
    func open(_ request: FetchRequest, context: FetchContext) async throws -> FetchedStream {
        let expected = context.plan.expectedDigest == nil ? await described(context) : ExpectedContent()
        let input = try open(checkingOwnership: context.plan.expectedDigest == nil && expected.digest == nil)
        var info = stat()
        let size: Int64? = fstat(input, &info) == 0 ? Int64(info.st_size) : nil
        return FetchedStream(offset: 0, size: size, digest: expected.digest, body: .descriptor(input, name: copy.path))
    }

    /// What the first registry that answers says the package is; empty when none does.
    private func described(_ context: FetchContext) async -> ExpectedContent {
        var shortened = context
        shortened.deadline = min(context.deadline, .now + Self.describeBudget)
        for (source, fetcher) in describers {
            if let expected = try? await fetcher.describe(source, context: shortened), expected.digest != nil { return expected }
        }
        return ExpectedContent()
    }

    /// Opens the copy read-only, each component below the cache directory without following a symlink;
    /// with `checkingOwnership`, refuses it unless the StrictModes rule holds all the way down.
    private func open(checkingOwnership: Bool) throws -> Int32 {
        let names = Array(copy.relativePath.utf8).split(separator: UInt8(ascii: "/")).map { Array($0) }
        guard let fileName = names.last else { throw PkgfetchError(.noSource, "the cached copy \(copy.path) has no file name") }
        do {
            var directory = try PathWalk.openDirectory(LexicalPath(copy.directory))
            if checkingOwnership { try checkStrict(directory.status(), directory.path) }
            for name in names.dropLast() {
                directory = try directory.openDirectory(name)
                if checkingOwnership { try checkStrict(directory.status(), directory.path) }
            }
            let input = try directory.openFile(fileName)
            var info = stat()
            guard fstat(input, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                close(input)
                throw PkgfetchError(.noSource, "\(directory.child(fileName)) is not a regular file")
            }
            if checkingOwnership {
                do { try checkStrict(info, directory.child(fileName)) } catch {
                    close(input)
                    throw error
                }
            }
            return input
        } catch let failure as PkgfetchError where failure.kind == .destinationIO {
            throw PkgfetchError(.noSource, "cannot read the cached copy: \(failure.message)")
        }
    }

    /// StrictModes: owned by root or us, and writable by neither group nor others.
    private func checkStrict(_ info: stat, _ path: LexicalPath) throws {
        guard let problem = StrictModes.problem(info, path) else { return }
        throw PkgfetchError(.integrityMismatch, "the cached copy \(copy.path) is not trusted: \(problem), and no digest "
                                + "(--sha256, or a registry's manifest) is known to check it against")
    }
}
