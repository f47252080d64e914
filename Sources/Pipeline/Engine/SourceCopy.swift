#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Copies one source into its staging file, across the attempts of a run: the one place that owns
/// the bytes, whatever the backend (the model is containerd's `content.Copy`). Each attempt opens the
/// source where the staged bytes end — only when the bytes before are of the version the source still
/// is — or from the start; refuses content over the size limit or past what the source announced;
/// resumes within the attempt after a cut that made progress; hashes once (the staging file does, as
/// it writes); checks what the source promised; and reports progress in a fixed order: `started` once,
/// when the first stream opens; `advanced` as bytes land; `finished` once, when the source is done.
final class SourceCopy: @unchecked Sendable {
    let source: Source
    let fetcher: any Fetcher
    let file: StagingFile
    private let sizeLimit: Int64?
    private let progress: any ProgressReporter
    private let events: EventEmitter
    /// The runner's connections: one is taken for each attempt, more for a large source that serves ranges.
    private let connections: ConnectionBudget?
    /// Set once the source answered a range with something else: from then on, one stream.
    private var rangesRefused = false
    /// Streams opened again within one attempt after one ended early, each only after the previous made progress.
    let maxResumes = 5

    private let lock = Lock()
    /// The version of the staged bytes; nil: unknown, so they cannot be resumed.
    private var validator: Validator?
    private var progressStarted = false
    private var current: (gate: AttemptGate, body: FetchedBody?)?

    /// The version the resume record beside the file names (`ResumeRecord`); nil: none written.
    private var recorded: Validator?
    /// Set until the first stream opens after a killed run's bytes were adopted: that open is told as a resume.
    private var adopting = false

    /// `stagedVersion`: the version of the bytes `file` already holds (a killed run's, adopted), which
    /// the first attempt continues like any other staged bytes, or drops when the source changed.
    init(source: Source, fetcher: any Fetcher, file: StagingFile, sizeLimit: Int64?, progress: any ProgressReporter,
         events: EventEmitter, connections: ConnectionBudget? = nil, stagedVersion: Validator? = nil) {
        validator = stagedVersion
        recorded = stagedVersion
        adopting = stagedVersion != nil
        self.connections = connections
        self.source = source
        self.fetcher = fetcher
        self.file = file
        self.sizeLimit = sizeLimit
        self.progress = progress
        self.events = events
    }

    /// What an attempt delivered.
    struct Delivered: Sendable {
        var digest: SHA256Digest
        var size: Int64
        var format: ArchiveFormat?
        var status: Int?
        var servedBy: String?
    }

    /// One attempt, within `context.deadline` (enforced by the caller with `AttemptDeadline`).
    func attempt(_ context: FetchContext) async throws -> Delivered {
        let gate = AttemptGate()
        lock.withLock { current = (gate, nil) }
        do {
            try await connections?.take()
            defer { connections?.give() }
            return try await copy(context, gate: gate)
        } catch {
            throw PkgfetchError.from(error).about(scheme: source.scheme)
        }
    }

    /// Ends the attempt in progress: its gate closes (after a write in flight) and its body is told to stop.
    func expire(because error: PkgfetchError) async {
        guard let (gate, body) = lock.withLock({ current }) else { return }
        // On a thread of its own: closing waits for a write in flight, and the blocking-I/O threads may
        // all be busy unpacking other packages.
        // (It waits for the close whether or not this task is cancelled: nothing in it checks.)
        try? await BlockingIO.runOnOwnThread(named: "expire") { gate.close(because: error) }
        body?.cancel()
    }

    /// Tells the progress reporter the source is done, if it was told it started.
    func finishProgress() {
        if lock.withLock({ progressStarted }) { progress.finished() }
    }

    private func copy(_ context: FetchContext, gate: AttemptGate) async throws -> Delivered {
        var resumes = 0
        var reopenBecause: (reason: String, status: Int?)?
        /// Drops the staged bytes, which `why` says are not of the version being fetched, and asks again from byte 0.
        func startOver(_ why: String, status: Int?) async throws {
            try await onFile(gate) { [self] in try file.reset() }
            lock.withLock { validator = nil }
            guard resumes < maxResumes else { throw PkgfetchError(.rejected, "\(source.redacted): \(why)") }
            resumes += 1
            reopenBecause = ("\(why); starting over", status)
        }
        while true {
            // Resume only onto bytes whose version is known; the fetcher is told which one it is.
            let (offset, known) = try await onFile(gate) { [self] in
                let known = lock.withLock { validator }
                if file.byteCount > 0, known == nil { try file.reset() }
                return (file.byteCount, known)
            }
            if lock.withLock({ () -> Bool in defer { adopting = false }; return adopting }), offset > 0 {
                events.emit(task: "resume", source: source, bytes: offset, outcome: "resume", attempt: context.attempt,
                            retryReason: "continuing the bytes a killed run staged")
            }
            if let reopen = reopenBecause {
                // Not a retry of the attempt, but worth a record.
                events.emit(task: "resume", source: source, bytes: offset, outcome: "resume", attempt: context.attempt,
                            status: reopen.status, retryReason: reopen.reason)
            }
            let request = FetchRequest(source: source, offset: offset, validator: offset > 0 ? known : nil)
            let stream = try await fetcher.open(request, context: context)
            lock.withLock { current?.body = stream.body }
            if let problem = mismatch(stream, asked: offset, known: known) {
                // Bytes that do not continue the staged ones: drop both, ask again from the start.
                stream.body.discard()
                try await startOver(problem, status: stream.status)
                continue
            }
            if let size = stream.size, let sizeLimit, size > sizeLimit {
                stream.body.discard()
                throw PkgfetchError(.tooLarge, "\(source.redacted): the package is \(size) bytes, larger than the size limit of \(sizeLimit) bytes (--max-size)")
            }
            try await onFile(gate) { [self] in
                if stream.offset == 0, file.byteCount > 0 { try file.reset() }
                lock.withLock { validator = stream.validator }
                recordResumable(stream)
            }
            startProgress(total: stream.size)
            let sink = ContentSink(file: file, gate: gate, source: source, progress: progress, sizeLimit: sizeLimit,
                                   announcedSize: stream.size)
            var cut: PkgfetchError?
            do {
                if let ranged = rangedCopy(of: stream, sink: sink, gate: gate, context: context) {
                    switch try await ranged.run(head: stream.body) {
                    case .complete:
                        break
                    case .rangesRefused(let why):
                        lock.withLock { rangesRefused = true }
                        reopenBecause = ("\(why); going on with one stream", stream.status)
                        continue
                    case .sourceChanged(let why):
                        try await startOver(why, status: stream.status)
                        continue
                    }
                } else {
                    try await deliver(stream.body, into: sink, gate: gate)
                }
            } catch {
                let failure = gate.closure ?? PkgfetchError.from(error).about(scheme: source.scheme)
                guard failure.retryable, gate.closure == nil else { throw failure }
                cut = failure
            }
            let staged = try await onFile(gate) { [self] in file.byteCount }
            if cut == nil, let size = stream.size, staged < size {
                cut = PkgfetchError(.unavailable, "\(source.redacted): the stream ended after \(staged) of \(size) bytes")
            }
            if let cut {
                // A stream cut after it made progress is opened again where it ended, within this attempt.
                guard sink.count > 0, resumes < maxResumes, ContinuousClock.now + .milliseconds(200) < context.deadline else { throw cut }
                resumes += 1
                reopenBecause = (cut.message, stream.status)
                continue
            }
            let (digest, size) = try await onFile(gate) { [self] in try file.finish() }
            do {
                try ExpectedContent(digest: stream.digest, size: stream.size).verify(digest: digest, size: size, of: source.redacted)
            } catch {
                // Bytes that are not what the source promised are never resumed.
                try? await onFile(gate) { [self] in try file.reset() }
                lock.withLock { validator = nil }
                throw error
            }
            return Delivered(digest: digest, size: size, format: stream.format, status: stream.status, servedBy: stream.servedBy)
        }
    }

    /// Writes the resume record for the version `stream` is, once per version (a reset removed the old one).
    private func recordResumable(_ stream: FetchedStream) {
        if stream.offset == 0 { recorded = nil }
        guard let version = stream.validator, version != recorded, let size = stream.size,
              let record = ResumeRecord(source: source, validator: version, totalSize: size) else { return }
        file.recordResumable(record)
        recorded = version
    }

    /// A copy over several connections, when `stream` suits one and the run may open more than one.
    private func rangedCopy(of stream: FetchedStream, sink: ContentSink, gate: AttemptGate, context: FetchContext) -> RangedCopy? {
        guard let connections, connections.total > 1, !lock.withLock({ rangesRefused }),
              RangedCopy.suits(stream, fetcher: fetcher), let size = stream.size, let version = stream.validator else { return nil }
        return RangedCopy(source: source, fetcher: fetcher, validator: version, size: size, start: stream.offset, budget: connections,
                          sink: sink, gate: gate, context: context)
    }

    /// Why `stream` cannot continue the staged bytes, or nil when it can (or starts from 0).
    private func mismatch(_ stream: FetchedStream, asked offset: Int64, known: Validator?) -> String? {
        if stream.offset == 0 { return nil }
        if stream.offset != offset { return "the source answered from byte \(stream.offset), not \(offset)" }
        if stream.validator == nil || stream.validator != known {
            return "the source is now \(stream.validator?.description ?? "of an unknown version"), not \(known?.description ?? "-")"
        }
        if let size = stream.size, size < offset { return "the source now has \(size) bytes, fewer than the \(offset) staged" }
        return nil
    }

    private func startProgress(total: Int64?) {
        let first = lock.withLock { () -> Bool in
            defer { progressStarted = true }
            return !progressStarted
        }
        if first { progress.started(source, totalBytes: total) }
    }

    /// Runs a change to the staging file through the attempt's gate, on a blocking-I/O thread (a reset
    /// or a digest waits for the writer thread).
    private func onFile<T: Sendable>(_ gate: AttemptGate, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingIO.shared.run { try gate.pass(body) }
    }

    /// Consumes the body into the sink: a writer body writes itself; a descriptor is read here, on a
    /// blocking-I/O thread (or, for a local file about to be unpacked, lent to the unpacker and only hashed).
    private func deliver(_ body: FetchedBody, into sink: ContentSink, gate: AttemptGate) async throws {
        switch body.delivery {
        case .writer(let write):
            try await write(sink)
        case .descriptor(let owned):
            try await BlockingIO.shared.run { [file] in
                defer { owned.close() }
                var info = stat()
                if fstat(owned.descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
                    try gate.pass { if file.byteCount == 0 { _ = try file.borrow(owned.descriptor, describedAs: owned.name) } }
                }
                try FetchedBody.readAll(owned.descriptor, name: owned.name, into: sink)
            }
        }
    }
}
