import Foundation

/// A gzip file that decompresses to itself, built here from first principles (the construction Russ
/// Cox described in "Zip Files All The Way Down", 2010), so no binary fixture has to be checked in.
///
/// Deflate has two operations that matter: a stored block prints the bytes that follow it (`L n`), and
/// a copy prints `n` bytes from `n` back in the output (`R n`). Each operation is encoded in exactly 5
/// bytes here, and the program prints the gzip header, then itself, then the gzip trailer:
///
///     L0  L20 [header L0 L20]  R20  L20 [R20 L20 R20 L20]  R20  L20 [8 zeros, R12, trailer]  R12
///
/// `L0` prints nothing and pads; `L20` prints its 20 bytes; `R20` repeats the last 20 printed. The
/// second `R20` prints the bytes of the literal before it *and* the two operations that follow it,
/// which is what lets the output run ahead of the program; the final `R12` (the last block) repeats
/// itself and the trailer from the literal before it. The trailer holds the CRC-32 of the whole file,
/// which contains that CRC twice; CRC-32 is affine over GF(2), so the CRC is found by solving a 32×32
/// linear system.
public enum GzipQuine {
    public static func make() -> [UInt8] {
        let probe = file(crc: 0)
        let base = crc32(probe)
        // Column i: how bit i of the stored CRC changes the computed CRC.
        let columns = (0..<32).map { crc32(file(crc: 1 << UInt32($0))) ^ base }
        guard let crc = solve(columns: columns, constant: base) else {
            fatalError("no CRC fixed point for this layout (change the padding bytes)")
        }
        return file(crc: crc)
    }

    /// Header, program, trailer, with `crc` in both places it appears.
    private static func file(crc: UInt32) -> [UInt8] {
        let header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]
        let l0 = stored(0), l20 = stored(20)
        let r20 = copy([10, 10], distance: 20, final: false)
        let r12 = copy([12], distance: 12, final: true)
        precondition(r20.count == 5 && r12.count == 4)
        func program(_ trailer: [UInt8]) -> [UInt8] {
            l0 + l20 + header + l0 + l20 + r20 + l20 + r20 + l20 + r20 + l20 + r20 + l20 + [UInt8](repeating: 0, count: 8) + r12 + trailer + r12
        }
        let size = UInt32(header.count + program([UInt8](repeating: 0, count: 8)).count + 8)
        let trailer = littleEndian(crc) + littleEndian(size)
        return header + program(trailer) + trailer
    }

    /// A stored block (not the last), starting on a byte boundary: header byte, LEN, NLEN.
    private static func stored(_ length: UInt16) -> [UInt8] {
        [0, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
    }

    /// A block with fixed Huffman codes holding copies of `lengths` at `distance`, then end-of-block.
    private static func copy(_ lengths: [Int], distance: Int, final: Bool) -> [UInt8] {
        var bits = BitWriter()
        bits.put(final ? 1 : 0, count: 1)
        bits.put(1, count: 2)  // BTYPE 01: fixed codes
        for length in lengths {
            let (symbol, base, extra) = lengthCodes.last { $0.base <= length }!
            bits.putHuffman(symbol - 256, count: 7)  // symbols 256…279 have 7-bit codes
            bits.put(length - base, count: extra)
            let (code, distanceBase, distanceExtra) = distanceCodes.last { $0.base <= distance }!
            bits.putHuffman(code, count: 5)
            bits.put(distance - distanceBase, count: distanceExtra)
        }
        bits.putHuffman(0, count: 7)  // end of block
        return bits.bytes
    }

    private static let lengthCodes: [(symbol: Int, base: Int, extra: Int)] = [
        (257, 3, 0), (258, 4, 0), (259, 5, 0), (260, 6, 0), (261, 7, 0), (262, 8, 0), (263, 9, 0), (264, 10, 0),
        (265, 11, 1), (266, 13, 1), (267, 15, 1), (268, 17, 1), (269, 19, 2), (270, 23, 2), (271, 27, 2), (272, 31, 2),
    ]
    private static let distanceCodes: [(code: Int, base: Int, extra: Int)] = [
        (0, 1, 0), (1, 2, 0), (2, 3, 0), (3, 4, 0), (4, 5, 1), (5, 7, 1), (6, 9, 2), (7, 13, 2), (8, 17, 3), (9, 25, 3),
    ]

    private struct BitWriter {
        private var bits: [UInt8] = []
        /// Least significant bit first (deflate's order for everything but Huffman codes).
        mutating func put(_ value: Int, count: Int) {
            for index in 0..<count { bits.append(UInt8((value >> index) & 1)) }
        }
        /// Most significant bit first.
        mutating func putHuffman(_ code: Int, count: Int) {
            for index in (0..<count).reversed() { bits.append(UInt8((code >> index) & 1)) }
        }
        var bytes: [UInt8] {
            let padded = bits + [UInt8](repeating: 0, count: (8 - bits.count % 8) % 8)
            return stride(from: 0, to: padded.count, by: 8).map { start in
                (0..<8).reduce(UInt8(0)) { $0 | padded[start + $1] << UInt8($1) }
            }
        }
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8((value >> (8 * UInt32($0))) & 0xFF) }
    }

    /// CRC-32 as gzip computes it (reflected, polynomial 0xEDB88320).
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// Solves (A ⊕ I)·x = b over GF(2), A given by its columns: the x with crc(file(x)) = x.
    private static func solve(columns: [UInt32], constant: UInt32) -> UInt32? {
        // Row r: which unknowns bit r of (A ⊕ I)·x depends on, and bit r of b.
        var rows: [(mask: UInt32, value: UInt32)] = (0..<32).map { bit in
            var mask: UInt32 = 0
            for column in 0..<32 where ((columns[column] >> UInt32(bit)) & 1) ^ (column == bit ? 1 : 0) == 1 {
                mask |= 1 << UInt32(column)
            }
            return (mask, (constant >> UInt32(bit)) & 1)
        }
        var pivotRow = [Int?](repeating: nil, count: 32)
        var next = 0
        for column in 0..<32 {
            guard let pivot = (next..<32).first(where: { (rows[$0].mask >> UInt32(column)) & 1 == 1 }) else { continue }
            rows.swapAt(next, pivot)
            for row in 0..<32 where row != next && (rows[row].mask >> UInt32(column)) & 1 == 1 {
                rows[row].mask ^= rows[next].mask
                rows[row].value ^= rows[next].value
            }
            pivotRow[column] = next
            next += 1
        }
        // An equation with no unknowns left must read 0 = 0.
        guard rows[next...].allSatisfy({ $0.value == 0 }) else { return nil }
        var solution: UInt32 = 0
        for column in 0..<32 { if let row = pivotRow[column], rows[row].value == 1 { solution |= 1 << UInt32(column) } }
        return solution
    }
}
