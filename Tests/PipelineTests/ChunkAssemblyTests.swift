import Foundation
@testable import Pipeline
import Testing
import TestSupport

/// The chunks of a ranged copy reach the sink in order whatever order they arrive in, and the
/// memory held for chunks ahead of the frontier stays within the claim window.
@Suite struct ChunkAssemblyTests {
    final class Collected: ByteSink, @unchecked Sendable {
        private let lock = NSLock()
        private var bytes = Data()
        func write(_ chunk: UnsafeRawBufferPointer) throws { lock.withLock { bytes.append(contentsOf: chunk) } }
        var data: Data { lock.withLock { bytes } }
    }

    @Test func chunksArrivingOutOfOrderReachTheSinkInOrder() async throws {
        let body = TestBodies.random(size: 10 * 1000 + 123)
        let sink = Collected()
        let assembly = ChunkAssembly(chunks: 11, chunkSize: 1000, lastChunkSize: 123, waiting: 3, sink: sink)
        assembly.claimFirst()
        var claimed: [Int] = []
        for _ in 0..<2 { claimed.append(try #require(await assembly.claim())) }
        #expect(claimed == [1, 2])
        // A third claim waits: three chunks are out and none is in the file yet.
        let waiter = Task { await assembly.claim() }
        func feed(_ chunk: Int, _ range: Range<Int>) throws {
            let start = chunk * 1000
            try body[(start + range.lowerBound)..<(start + range.upperBound)].withUnsafeBytes { try assembly.write(chunk: chunk, $0) }
        }
        try feed(2, 0..<1000)
        try assembly.complete(2)
        try feed(1, 0..<400)
        try feed(0, 0..<700)
        #expect(sink.data == body.prefix(700), "the frontier chunk goes straight to the sink")
        try feed(0, 700..<1000)
        try assembly.complete(0)
        #expect(sink.data == body.prefix(1400), "chunk 1's buffered start follows at once")
        #expect(await waiter.value == 3)
        try feed(1, 400..<1000)
        try assembly.complete(1)
        #expect(sink.data == body.prefix(3000))
        try feed(3, 0..<1000)
        try assembly.complete(3)
        var next: [Int] = []
        while let chunk = await assembly.claim() {
            next.append(chunk)
            try feed(chunk, 0..<assembly.size(of: chunk))
            try assembly.complete(chunk)
        }
        #expect(next == Array(4...10))
        #expect(sink.data == body)
        #expect(assembly.isComplete)
        #expect(assembly.buffersAllocated <= 2, "only chunks ahead of the frontier are buffered, at most waiting − 1")
    }

    @Test func stopReleasesAWaitingClaimAndRefusesWrites() async throws {
        let assembly = ChunkAssembly(chunks: 4, chunkSize: 10, lastChunkSize: 10, waiting: 1, sink: Collected())
        assembly.claimFirst()
        let waiter = Task { await assembly.claim() }
        // The claim is waiting (one chunk is out, one may be): stop is what must release it.
        while assembly.waitingClaims == 0 { await Task.yield() }
        assembly.stop()
        #expect(await waiter.value == nil)
        #expect(throws: CancellationError.self) { try Data([1]).withUnsafeBytes { try assembly.write(chunk: 0, $0) } }
    }
}
