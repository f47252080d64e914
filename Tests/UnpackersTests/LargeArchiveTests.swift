import Foundation
import Pipeline
import Testing
import TestSupport
import Unpackers

extension Tag {
    /// Writes and unpacks hundreds of megabytes; `swift test --skip-tags large` would leave it out.
    @Tag static var large: Self
}

@Suite("Large package", .tags(.large), .offPool)
struct LargeArchiveTests {
    /// The tree the benchmark uses too: scripts/make-sample-tree.py.
    static let sampleTreeScript = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/make-sample-tree.py").path

    @Test func package200MiBOf2000FilesMatchesBsdtarEntryByEntry() async throws {
        let bsdtar = try Tool.bsdtar()
        let temporary = try TemporaryDirectory()
        let source = try temporary.path("tree")
        try Tool.run(try Tool.python3(), [Self.sampleTreeScript, source, "--mib", "200", "--files", "2000"])
        let sourceTree = try TreeSnapshot(source)
        let sourceBytes = sourceTree.nodes.values.filter { $0.type == "file" }.reduce(Int64(0)) { $0 + $1.size }
        #expect(sourceTree.nodes.count == 2000)
        #expect(sourceBytes > 200 << 20)

        for format in [ArchiveFormat.zip, .tarGzip] {
            let archive = try temporary.path("package.\(format.name)")
            try Tool.run(bsdtar, SamplePackage.createFlags(format) + [archive, "-C", source, "."])
            let oracle = try temporary.path("bsdtar-\(format.name)", create: true)
            try Tool.run(bsdtar, ["-xf", archive, "-C", oracle])
            let ours = try temporary.path("pkgfetch-\(format.name)", create: true)

            let report = try LibarchiveUnpacker().unpack(archive, format: format, into: ours, limits: UnpackLimits())

            #expect(report.entries == 2001, "2000 entries and ./")
            #expect(report.bytes == sourceBytes)
            #expect(try TreeSnapshot(ours).differences(from: TreeSnapshot(oracle)) == [], "\(format)")
            try FileManager.default.removeItem(atPath: oracle)
            try FileManager.default.removeItem(atPath: ours)
            try FileManager.default.removeItem(atPath: archive)
        }
    }
}
