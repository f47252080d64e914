import Foundation
@testable import Pipeline
import Testing
import TestSupport

/// The chunks of a ranged copy reach the sink's in-order prefix in order whatever order they arrive
/// in: the frontier's bytes are appended, bytes ahead are placed at their offset and taken into the
/// prefix once the frontier reaches them; claims are runs of chunks, within the claim window.
@Suite struct ChunkAssemblyTests {
    /// A file of `size` bytes: `appended` is its in-order prefix, `placed` what was written anywhere.
    final class Placed: PlacingSink, @unchecked Sendable {
        private let lock = NSLock()
        private var file: Data
        private var prefix = 0
        private(set) var placements = 0
        init(size: Int) { file = Data(count: size) }
        func write(_ bytes: UnsafeRawBufferPointer) throws {
            lock.withLock {
                file.replaceSubrange(prefix..<(prefix + bytes.count), with: bytes)
                prefix += bytes.count
            }
        }
        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
            lock.withLock {
                #expect(Int(offset) >= prefix, "nothing is placed inside the prefix")
                file.replaceSubrange(Int(offset)..<(Int(offset) + bytes.count), with: bytes)
                placements += 1
            }
        }
        func takeWritten(_ count: Int) throws { lock.withLock { prefix += count } }
        var appended: Data { lock.withLock { file.prefix(prefix) } }
    }

    @Test func chunksArrivingOutOfOrderReachThePrefixInOrder() async throws {
        let body = TestBodies.random(size: 10 * 1000 + 123)
        let sink = Placed(size: body.count + 500)
        let assembly = ChunkAssembly(chunks: 11, chunkSize: 1000, lastChunkSize: 123, origin: 500, claimChunks: 2, spread: 2, waiting: 5, sink: sink)
        // The content starts at `origin` 500 of the file; the first 500 bytes are already the prefix.
        try Data(repeating: 7, count: 500).withUnsafeBytes { try sink.write($0) }
        assembly.claimFirst()
        var claimed: [Range<Int>] = []
        for _ in 0..<2 { claimed.append(try #require(await assembly.claim())) }
        #expect(claimed == [1..<3, 3..<5])
        // A third claim waits: five chunks are out and none is in the prefix yet.
        let waiter = Task { await assembly.claim() }
        func feed(_ chunk: Int, _ range: Range<Int>) throws {
            let start = chunk * 1000
            try body[(start + range.lowerBound)..<(start + range.upperBound)].withUnsafeBytes { try assembly.write(chunk: chunk, $0) }
        }
        try feed(2, 0..<1000)
        try assembly.complete(2)
        try feed(1, 0..<400)
        try feed(0, 0..<700)
        #expect(sink.appended.dropFirst(500) == body.prefix(700), "the frontier chunk goes straight to the prefix")
        try feed(0, 700..<1000)
        try assembly.complete(0)
        #expect(sink.appended.dropFirst(500) == body.prefix(1400), "chunk 1's placed start is taken at once")
        #expect(await waiter.value == 5..<7)
        try feed(1, 400..<1000)
        #expect(sink.appended.dropFirst(500) == body.prefix(2000), "chunk 1 goes on at the frontier")
        try assembly.complete(1)
        #expect(sink.appended.dropFirst(500) == body.prefix(3000))
        for chunk in 3..<7 {
            try feed(chunk, 0..<1000)
            try assembly.complete(chunk)
        }
        var next: [Range<Int>] = []
        while let chunks = await assembly.claim() {
            next.append(chunks)
            for chunk in chunks {
                try feed(chunk, 0..<assembly.size(of: chunk))
                try assembly.complete(chunk)
            }
        }
        #expect(next == [7..<9, 9..<10, 10..<11], "runs shrink near the end so that every connection has a share")
        #expect(sink.appended.dropFirst(500) == body)
        #expect(assembly.isComplete)
        #expect(sink.placements > 0)
    }

    @Test func stopReleasesAWaitingClaimAndRefusesWrites() async throws {
        let assembly = ChunkAssembly(chunks: 4, chunkSize: 10, lastChunkSize: 10, waiting: 1, sink: Placed(size: 40))
        assembly.claimFirst()
        let waiter = Task { await assembly.claim() }
        // The claim is waiting (one chunk is out, one may be): stop is what must release it.
        while assembly.waitingClaims == 0 { await Task.yield() }
        assembly.stop()
        #expect(await waiter.value == nil)
        #expect(throws: CancellationError.self) { try Data([1]).withUnsafeBytes { try assembly.write(chunk: 0, $0) } }
    }
}
