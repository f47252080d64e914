#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The in-order prefix of a staging file's content that is hashed and written: the one place where
/// bytes become part of what the digest covers (`StagingFile`'s writer reports here, and nowhere
/// else). A streamed unpack follows it while the download goes on, reading only bytes below `count`.
///
/// A generation is one version of the content, from byte 0: bytes of a generation never change, so a
/// reader of it sees a prefix of what will be verified. A reset starts a new generation, and so does
/// a write after the content was complete (the content grew after a reader may have seen its end);
/// readers of an older generation are told to start over.
package final class LandedBytes: @unchecked Sendable {
    private let condition = Condition()
    private var generation = 0
    private var count: Int64 = 0
    private var complete = false
    private var sealed = false
    private var abandoned = false

    /// Nothing landed yet.
    package init() {}

    /// Where a reader stands: the content's version, and what has landed of it.
    package struct Snapshot: Sendable, Equatable {
        /// The content's version.
        package var generation: Int
        /// Bytes of the content hashed and written, in order from byte 0.
        package var count: Int64
        /// No more bytes come for this generation, unless it is superseded.
        package var complete: Bool
        /// The runner holds the content as final (verified): it will not change again.
        package var sealed: Bool
    }

    /// What a reader waiting for bytes is told.
    package enum Wait: Sendable, Equatable {
        /// The state of its generation: more bytes, or its end.
        case landed(Snapshot)
        /// Its generation was superseded: start over from byte 0.
        case superseded
        /// Nobody wants the content any more: stop.
        case abandoned
    }

    // MARK: The writer's side (StagingFile)

    /// `bytes` more bytes were hashed and written after the ones before.
    func advance(by bytes: Int) {
        update {
            if complete {
                generation += 1
                complete = false
            }
            count += Int64(bytes)
        }
    }

    /// The content was dropped: the next byte is byte 0 of a new generation.
    func restart() {
        update {
            generation += 1
            count = 0
            complete = false
        }
    }

    /// Every byte written so far has landed, and the writer expects no more (the download ended).
    func finish() {
        update { complete = true }
    }

    // MARK: The runner's side

    /// The content is final and verified: a reader at its end may finish.
    package func seal() {
        update { sealed = true }
    }

    /// Nobody wants the content any more: readers stop waiting.
    package func abandon() {
        update { abandoned = true }
    }

    // MARK: A reader's side

    /// The state now.
    package var snapshot: Snapshot {
        condition.withLock { Snapshot(generation: generation, count: count, complete: complete, sealed: sealed) }
    }

    /// Waits until generation `reader` has more than `offset` bytes, or is complete (or sealed), or
    /// is superseded, or abandoned.
    package func wait(beyond offset: Int64, of reader: Int) -> Wait {
        wait(of: reader) { $0.count > offset || $0.complete || $0.sealed }
    }

    /// Waits until generation `reader` is sealed, superseded or abandoned: a reader that has
    /// finished learns whether its result stands.
    package func waitForVerdict(of reader: Int) -> Wait {
        wait(of: reader) { $0.sealed }
    }

    private func wait(of reader: Int, until ready: (Snapshot) -> Bool) -> Wait {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if abandoned { return .abandoned }
            if generation != reader { return .superseded }
            let now = Snapshot(generation: generation, count: count, complete: complete, sealed: sealed)
            if ready(now) { return .landed(now) }
            condition.wait()
        }
    }

    private func update(_ change: () -> Void) {
        condition.lock()
        change()
        condition.broadcast()
        condition.unlock()
    }
}
