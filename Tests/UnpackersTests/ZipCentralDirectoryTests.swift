import Foundation
import Testing
import TestSupport
@testable import Unpackers

/// The central-directory parser on bytes from outside: a real zip's records are read as written, and
/// every truncation and every single-byte change of it is parsed or refused with `Failure`, never a
/// crash or another error.
@Suite(.offPool) struct ZipCentralDirectoryTests {
    static func parse(_ bytes: [UInt8], maximumEntries: Int = 100) throws -> ZipCentralDirectory {
        try ZipCentralDirectory(size: Int64(bytes.count), maximumEntries: maximumEntries) { offset, count in
            guard offset >= 0, offset <= Int64(bytes.count) else { return [] }
            return Array(bytes[Int(offset)..<min(bytes.count, Int(offset) + count)])
        }
    }

    static func smallZip() throws -> [UInt8] {
        let scratch = try TemporaryDirectory()
        let path = try scratch.path("small.zip")
        try ArchiveBuilder.build(.zip, [.dir("d/"), .file("d/a.txt", "alpha"), .file("d/run", "#!/bin/sh\n", mode: 0o755)], at: path)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test func aRealZipsRecordsAreReadAsWritten() throws {
        let directory = try Self.parse(try Self.smallZip())
        #expect(directory.records.map { String(decoding: $0.name, as: UTF8.self) } == ["d/", "d/a.txt", "d/run"])
        #expect(directory.records[1].uncompressedSize == 5)
        #expect(directory.records[0].localHeaderOffset == 0)
        #expect(directory.records[2].externalAttributes >> 16 & 0o777 == 0o755)
    }

    @Test func moreRecordsThanLocalHeadersAreRefusedBeforeTheyAreRead() throws {
        #expect(throws: ZipCentralDirectory.Failure.self) { try Self.parse(try Self.smallZip(), maximumEntries: 2) }
    }

    @Test func everyTruncationAndEverySingleByteChangeIsParsedOrRefused() throws {
        let zip = try Self.smallZip()
        var refused = 0
        func attempt(_ bytes: [UInt8]) {
            do {
                _ = try Self.parse(bytes)
            } catch is ZipCentralDirectory.Failure {
                refused += 1
            } catch {
                Issue.record("not a parser failure: \(error)")
            }
        }
        for length in 0..<zip.count { attempt(Array(zip.prefix(length))) }
        for index in zip.indices {
            for value: UInt8 in [0x00, 0xFF, zip[index] ^ 0x01] {
                var changed = zip
                changed[index] = value
                attempt(changed)
            }
        }
        #expect(refused >= zip.count, "every truncation is refused")
    }
}
