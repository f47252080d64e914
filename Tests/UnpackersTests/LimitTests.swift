import Foundation
import Pipeline
import Testing
import TestSupport
import Unpackers

@Suite("Limits stop an archive bomb while it is extracted, before its bytes reach the disk", .offPool)
struct LimitTests {
    /// Bytes of regular files under the target.
    private func bytesOnDisk(_ sandbox: Sandbox) throws -> Int64 {
        try TreeSnapshot(sandbox.target).nodes.values.filter { $0.type == "file" }.reduce(0) { $0 + $1.size }
    }

    private func archiveSize(_ sandbox: Sandbox) throws -> Int64 {
        (try FileManager.default.attributesOfItem(atPath: sandbox.archive)[.size] as? NSNumber)?.int64Value ?? 0
    }

    @Test func zipBombIsStoppedByTheCompressionRatio() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.zip, [.file("readme.txt", "hello"), .zeros("bomb.bin", count: 100 << 20)], at: sandbox.archive)
        let error = await #expect(throws: PkgfetchError.self) { try await sandbox.unpack() }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.message.contains("entry \"bomb.bin\" refused") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("compression-ratio limit") == true, "\(error?.message ?? "")")
        #expect(try bytesOnDisk(sandbox) <= max(UnpackLimits().ratioExemptBytes, 200 * (try archiveSize(sandbox))))
        #expect(try sandbox.strays() == [])
    }

    /// A small package of repetitive text compresses far past 200:1 and is still no bomb.
    @Test func smallHighlyCompressiblePackageIsNotABomb() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.zip, [.zeros("config.pad", count: 4 << 20), .file("readme.txt", "hello")], at: sandbox.archive)
        #expect(Double(4 << 20) / Double(try archiveSize(sandbox)) > 200)
        let report = try await sandbox.unpack()
        #expect(report.bytes == Int64(4 << 20) + 5)
    }

    /// The zip declares 1000 bytes and inflates to 100 MiB: only counting every block catches it.
    @Test func zipThatUnderstatesItsSizeIsStoppedWhileStreaming() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.zip, [.zeros("liar.bin", count: 100 << 20)], at: sandbox.archive, declaredSize: 1000)
        let error = await #expect(throws: PkgfetchError.self) { try await sandbox.unpack() }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.message.contains("entry \"liar.bin\" refused") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("compression-ratio limit") == true, "\(error?.message ?? "")")
        // The header's 1000 bytes pass every limit: only the blocks counted while streaming can refuse it.
        #expect(try bytesOnDisk(sandbox) == 0, "what was written before the refusal is removed again")
    }

    @Test func understatedZipIsStoppedByTheTotalSizeWhileStreaming() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.zip, [.zeros("liar.bin", count: 100 << 20)], at: sandbox.archive, declaredSize: 1000)
        let limits = UnpackLimits(maxTotalBytes: 10 << 20, maxCompressionRatio: 1e9)
        let error = await #expect(throws: PkgfetchError.self) { try await sandbox.unpack(limits: limits) }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.message.contains("entry \"liar.bin\" refused") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("total-size limit") == true, "\(error?.message ?? "")")
        #expect(try bytesOnDisk(sandbox) <= 10 << 20)
    }

    @Test func totalSizeLimitRefusesTheEntryThatWouldPassIt() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tarGzip, [.zeros("a.bin", count: 1 << 20), .zeros("b.bin", count: 1 << 20), .zeros("c.bin", count: 1 << 20)],
                                 at: sandbox.archive)
        let limits = UnpackLimits(maxTotalBytes: 2 << 20 + 100, maxCompressionRatio: 1e9)
        let error = await #expect(throws: PkgfetchError.self) { try await sandbox.unpack(.tarGzip, limits: limits) }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.message.contains("entry \"c.bin\" refused") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("total-size limit") == true, "\(error?.message ?? "")")
        #expect(try TreeSnapshot(sandbox.target).nodes.isEmpty, "a.bin and b.bin are removed again")
    }

    @Test func entryCountLimit() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tar, (0...10).map { .file("f\($0)", "x") }, at: sandbox.archive)
        let error = await #expect(throws: PkgfetchError.self) {
            try await sandbox.unpack(.tar, limits: UnpackLimits(maxEntries: 10, maxCompressionRatio: 1e9))
        }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.message.contains("entry \"f10\" refused") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("entry-count limit") == true, "\(error?.message ?? "")")
    }

    /// One entry can imply many directories; they count against the same limit.
    @Test func entryCountLimitCountsImpliedDirectories() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tar, [.file("a/b/c/d/e/f", "x")], at: sandbox.archive)
        let error = await #expect(throws: PkgfetchError.self) {
            try await sandbox.unpack(.tar, limits: UnpackLimits(maxEntries: 3, maxCompressionRatio: 1e9))
        }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.message.contains("entry \"a/b/c/d/e/f\" refused") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("entry-count limit") == true, "\(error?.message ?? "")")
    }

    /// A sparse file counts at its full size: 64 MiB of holes are 64 MiB unpacked.
    @Test func sparseFileCountsItsHoles() async throws {
        let bsdtar = try Tool.bsdtar()
        let sandbox = try Sandbox()
        let source = try sandbox.temporary.path("source", create: true)
        let holey = "\(source)/holey"
        _ = FileManager.default.createFile(atPath: holey, contents: Data("start".utf8))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: holey))
        try handle.seek(toOffset: (64 << 20) - 3)
        try handle.write(contentsOf: Data("end".utf8))
        try handle.close()
        try Tool.run(bsdtar, ["-cf", sandbox.archive, "-C", source, "holey"])

        let error = await #expect(throws: PkgfetchError.self) {
            try await sandbox.unpack(.tar, limits: UnpackLimits(maxTotalBytes: 10 << 20, maxCompressionRatio: 1e9))
        }
        #expect(error?.message.contains("total-size limit") == true, "\(error?.message ?? "")")

        try FileManager.default.removeItem(atPath: sandbox.target)
        try FileManager.default.createDirectory(atPath: sandbox.target, withIntermediateDirectories: false)
        let report = try await sandbox.unpack(.tar, limits: UnpackLimits(maxCompressionRatio: 1e9))
        #expect(report.bytes == 64 << 20)
        let oracle = try sandbox.temporary.path("bsdtar", create: true)
        try Tool.run(bsdtar, ["-xf", sandbox.archive, "-C", oracle])
        #expect(try TreeSnapshot(sandbox.target).differences(from: TreeSnapshot(oracle)) == [])
    }

    /// Pax records of 900 KiB on every entry: nothing of them is written, but each is decompressed and
    /// parsed, so they count too (past an allowance per entry that real headers stay far below).
    @Test func bloatedHeadersCountAgainstTheRatio() async throws {
        let sandbox = try Sandbox()
        try Tool.run(try Tool.python3(), ["-c", """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1], 'w:gz', format=tarfile.PAX_FORMAT) as tar:
                for index in range(40):
                    info = tarfile.TarInfo(f'f{index}')
                    info.pax_headers = {'comment': 'x' * (900 << 10)}
                    info.size = 1
                    tar.addfile(info, io.BytesIO(b'x'))
            """, sandbox.archive])
        let error = await #expect(throws: PkgfetchError.self) { try await sandbox.unpack(.tarGzip) }
        #expect(error?.kind == .unsafeArchive)
        #expect(error?.message.contains("headers and skipped data included (compression-ratio limit)") == true, "\(error?.message ?? "")")
        #expect(try TreeSnapshot(sandbox.target).nodes.isEmpty)

        // The same archive is fine where the ratio allows it: the allowance is not what refused it.
        try FileManager.default.removeItem(atPath: sandbox.target)
        try FileManager.default.createDirectory(atPath: sandbox.target, withIntermediateDirectories: false)
        let report = try await sandbox.unpack(.tarGzip, limits: UnpackLimits(maxCompressionRatio: 1e6))
        #expect(report.entries == 40)
    }

    /// The extraction runs on a blocking-I/O thread; cancelling the task waiting for it stops it
    /// between blocks, and what it wrote is removed.
    @Test func cancellingTheTaskStopsTheExtraction() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tarGzip, [.zeros("big.bin", count: 512 << 20)], at: sandbox.archive)
        let limits = UnpackLimits(maxTotalBytes: 8 << 30, maxCompressionRatio: 1e9)
        let (archive, target) = (sandbox.archive, sandbox.target)
        let unpack = Task {
            try await BlockingIO.shared.run { try LibarchiveUnpacker().unpack(archive, format: .tarGzip, into: target, limits: limits) }
        }
        // Cancelled once the extraction has begun (its file is in the target), not after a fixed sleep
        // that a loaded machine can stretch past the whole unpack.
        let until = ContinuousClock.now + .seconds(60)
        while (try? FileManager.default.contentsOfDirectory(atPath: target))?.isEmpty ?? true, ContinuousClock.now < until {
            usleep(1_000)
        }
        unpack.cancel()
        let started = ContinuousClock.now
        let error = await #expect(throws: PkgfetchError.self) { try await unpack.value }
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(error?.message.contains("cancelled") == true, "\(error?.message ?? "")")
        #expect(try TreeSnapshot(sandbox.target).nodes.isEmpty)
    }

    @Test func archiveExactlyAtTheLimitsIsAccepted() async throws {
        let sandbox = try Sandbox()
        try ArchiveBuilder.build(.tar, (0..<10).map { .file("f\($0)", "0123456789") }, at: sandbox.archive)
        let report = try await sandbox.unpack(.tar, limits: UnpackLimits(maxTotalBytes: 100, maxEntries: 10, maxCompressionRatio: 1e9))
        #expect(report.entries == 10)
        #expect(report.bytes == 100)
    }
}
