import Foundation
import Pipeline
import Testing
import TestSupport
import Unpackers

/// A node package has at most one compression layer. libarchive left to itself stacks a decompressor
/// for every layer it recognises (up to 25), so a gzip of a gzip of … costs a filter each, and a gzip
/// quine decompresses to itself at every layer.
@Suite("One compression layer: nested compression and a gzip quine end fast with unpack-failed (60)", .offPool)
struct CompressionLayerTests {
    /// `layers` compressions (Python's gzip, lzma, bz2 modules) of a tar holding one file.
    private func nested(_ codecs: [String], in sandbox: Sandbox) throws {
        let inner = sandbox.archive + ".tar"
        try ArchiveBuilder.build(.tar, [.file("bin/tool", "runs", mode: 0o755)], at: inner)
        try Tool.run(try Tool.python3(), ["-c", """
            import bz2, gzip, lzma, sys
            data = open(sys.argv[1], 'rb').read()
            for codec in sys.argv[3:]:
                data = {'gzip': gzip.compress, 'xz': lzma.compress, 'bzip2': bz2.compress}[codec](data)
            open(sys.argv[2], 'wb').write(data)
            """, inner, sandbox.archive] + codecs)
    }

    private func expectOneLayerRefusal(_ sandbox: Sandbox, saying words: [String],
                                       sourceLocation: SourceLocation = #_sourceLocation) async {
        let started = ContinuousClock.now
        let error = await #expect(throws: PkgfetchError.self, sourceLocation: sourceLocation) { try await sandbox.unpack(.tarGzip) }
        // Generous: other suites running alongside can hold the pool the result resumes on. The tight
        // bound (a child process, its own wall time) is UnpackBoundsTests.gzipQuineEndsFastInBoundedMemory.
        #expect(ContinuousClock.now - started < .seconds(60), sourceLocation: sourceLocation)
        #expect(error?.kind == .unpackFailed, "\(error?.description ?? "no error")", sourceLocation: sourceLocation)
        #expect(error?.kind.exitCode == 60, sourceLocation: sourceLocation)
        for word in words {
            #expect(error?.message.contains(word) == true, "\(error?.message ?? "") should say \(word)", sourceLocation: sourceLocation)
        }
        #expect((try? TreeSnapshot(sandbox.target).nodes.isEmpty) == true, sourceLocation: sourceLocation)
    }

    @Test func oneLayerOfEachCompressionUnpacks() async throws {
        for codec in ["gzip", "xz", "bzip2"] {
            let sandbox = try Sandbox()
            try nested([codec], in: sandbox)
            let report = try await sandbox.unpack(.tarGzip)
            #expect(report.detectedFormat.contains(codec), "\(report.detectedFormat)")
            #expect(try TreeSnapshot(sandbox.target)["bin/tool"]?.permissions == 0o755)
        }
    }

    @Test(arguments: [["gzip", "gzip"], ["gzip", "xz"], ["xz", "bzip2"], Array(repeating: "gzip", count: 20)])
    func aSecondLayerIsRefused(_ codecs: [String]) async throws {
        let sandbox = try Sandbox()
        try nested(codecs, in: sandbox)
        await expectOneLayerRefusal(sandbox, saying: [
            "not an archive", "\(codecs.last!) data that holds \(codecs[codecs.count - 2]) data again", "one compression layer",
        ])
    }

    @Test func gzipQuine() async throws {
        let quine = GzipQuine.make()
        let sandbox = try Sandbox()
        try Data(quine).write(to: URL(fileURLWithPath: sandbox.archive))
        // It is a real quine: gzip itself decompresses it to the same bytes, CRC and length checked.
        let check = try Tool.run(try Tool.python3(), ["-c", "import gzip, sys; d = open(sys.argv[1], 'rb').read(); print(gzip.decompress(d) == d)", sandbox.archive])
        #expect(check == "True\n")
        await expectOneLayerRefusal(sandbox, saying: ["not an archive", "gzip data that holds gzip data again", "one compression layer"])
    }
}
