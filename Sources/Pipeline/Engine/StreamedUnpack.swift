#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One package unpacked while its bytes arrive: follows a source's staging file (`LandedBytes`) on a
/// thread of its own, into the staging tree, and starts over when the download does (a reset, a
/// source that changed, another source). Its result is taken only once the file is verified, so
/// nothing unpacked from unverified bytes is ever installed; given up, it leaves the tree empty.
final class StreamedUnpack: @unchecked Sendable {
    /// What the unpack came to, for the content the runner verified.
    enum Outcome: Sendable {
        /// Unpacked; `started` is when the unpack of this content began.
        case unpacked(UnpackReport, started: ContinuousClock.Instant)
        /// Not streamed (the content is no format streamed): nothing was written.
        case declined
        /// The unpack failed on the verified content.
        case failed(PkgfetchError)
    }

    private let unpacker: any StreamingUnpacker
    private let format: ArchiveFormat
    private let limits: UnpackLimits
    private let shaping: Shaping
    /// The staging tree, and how to empty it.
    let tree: String
    private let emptyTree: @Sendable () throws -> Void
    private let events: EventEmitter
    private let clock: any RetryClock
    /// A signal halts the unpack through it, and removes the tree only once the unpack has returned.
    private let interruption: Interruption
    private let lock = Lock()
    private var following: (file: StagingFile, task: Task<Outcome?, Never>)?

    init(unpacker: any StreamingUnpacker, format: ArchiveFormat, limits: UnpackLimits, shaping: Shaping = .none, tree: String,
         emptyTree: @escaping @Sendable () throws -> Void, events: EventEmitter, clock: any RetryClock, interruption: Interruption) {
        self.unpacker = unpacker
        self.format = format
        self.limits = limits
        self.shaping = shaping
        self.tree = tree
        self.emptyTree = emptyTree
        self.events = events
        self.clock = clock
        self.interruption = interruption
    }

    /// Starts unpacking `file`, `source`'s staging file, as it lands; an unpack of an earlier source's
    /// file is given up first. A stopped run unpacks nothing (the outcome is nil).
    func follow(_ file: StagingFile, of source: Source) async {
        await abandon()
        let task = Task { [self, interruption] in
            try? await BlockingIO.runOnOwnThread(named: "unpack") {
                try interruption.whileWriting(halt: { file.landed.abandon() }) { self.unpackWhileLanding(file, of: source) }
            }
        }
        lock.withLock { following = (file, task) }
    }

    /// The outcome for `file` once it holds its verified content (the runner writes it no more);
    /// nil when another file is followed.
    func outcome(for file: StagingFile) async -> Outcome? {
        guard let (followed, task) = lock.withLock({ following }), followed === file else { return nil }
        file.landed.seal()
        // The run's cancellation reaches the unpack through its thread's `BlockingIO.checkCancellation()`.
        return await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
    }

    /// Stops the unpack and waits for it; the tree is left empty.
    func abandon() async {
        guard let (file, task) = lock.withLock({ following }) else { return }
        file.landed.abandon()
        _ = await task.value
        lock.withLock { following = nil }
    }

    /// On the unpack's own thread: unpacks each generation of the content as it lands, until one is
    /// sealed (the outcome) or the content is abandoned (nil).
    private func unpackWhileLanding(_ file: StagingFile, of source: Source) -> Outcome? {
        while true {
            let content = LandedContentReader(file.landed) { file.path }
            let started = clock.now
            let result = Result { try unpacker.unpack(streaming: content, format: format, into: tree, limits: limits, shaping: shaping) }
            switch file.landed.waitForVerdict(of: content.generation) {
            case .landed:
                switch result {
                case .success(let report?): return .unpacked(report, started: started)
                case .success(nil): return .declined
                case .failure(let error): return .failed(PkgfetchError.from(error, default: .unpackFailed))
                }
            case .superseded:
                do {
                    try emptyTree()
                } catch {
                    return .failed(PkgfetchError.from(error))
                }
                events.emit(task: "unpack", source: source, bytes: content.offset, since: started, outcome: "retry",
                            retryReason: "the download started over from its first byte; so does the unpack")
            case .abandoned:
                try? emptyTree()
                return nil
            }
        }
    }
}
