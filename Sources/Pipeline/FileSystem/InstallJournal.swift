#if canImport(Glibc)
import Glibc
#endif

/// What an install of more than one rename is about to do, written in its staging area before the
/// first rename (dpkg's model): which staged entry goes where, and where each old entry it replaces
/// is kept meanwhile (`aside/<index>` in the staging area). A later run that finds it with its owner
/// gone rolls the install back, or, once it is marked committed (the journal renamed to
/// `committedName` after the last rename), finishes it. Every entry is named by its inode as well, so
/// each step of a rollback checks what is there before moving it, and can be repeated after a crash.
///
/// Our own file in our own 0700 directory, yet read defensively: a damaged journal yields the
/// operations that parse, in order, and never more.
struct InstallJournal: Equatable {
    /// One entry to rename into place.
    struct Operation: Equatable {
        /// Its path below the destination directory.
        var destination: [[UInt8]]
        /// Its path in the staging area (below the staging directory itself).
        var staged: [[UInt8]]
        /// The staged entry's inode: what the destination holds once the operation is done.
        var new: UInt64
        /// The inode of the entry it replaces; nil when the destination has nothing there.
        var old: UInt64?
    }

    /// The device holding the destination, the staging area and every entry named.
    var device: UInt64
    /// The inode of the directory the operations' destination paths start from.
    var destination: UInt64
    var operations: [Operation]

    static let name = Array("install-journal".utf8)
    static let committedName = Array("install-committed".utf8)
    /// The staging directory's subdirectory where replaced entries are kept until the install commits.
    static let asideName = Array("aside".utf8)
    /// A journal is read whole; one of more than this is damage (an archive's entries are bounded far below).
    static let sizeLimit = 256 << 20

    /// Where operation `index` keeps the entry it replaces (and a rollback the entry it takes out).
    static func aside(_ index: Int, new: Bool = false) -> [UInt8] { Array("\(index)\(new ? ".new" : "")".utf8) }

    private static let header = Array("pkgfetch-install-journal 1".utf8)

    var encoded: [UInt8] {
        var text = Self.header + [0x0A]
        text += Array("destination \(device) \(destination)\n".utf8)
        for operation in operations {
            text += Array("\(operation.old == nil ? "place" : "swap") \(operation.new) \(operation.old ?? 0) ".utf8)
            text += Self.encode(operation.destination) + [0x20] + Self.encode(operation.staged) + [0x0A]
        }
        text += Array("end \(operations.count)\n".utf8)
        return text
    }

    /// A journal read back, and whether it was whole (its end line there and its count right).
    static func parse(_ bytes: [UInt8]) -> (journal: InstallJournal, complete: Bool)? {
        // Only lines ended by a newline count: a line cut short could still parse, as a shorter path.
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        guard lines.popFirst().map(Array.init) == header, let first = lines.popFirst() else { return nil }
        let top = words(first)
        guard top.count == 3, top[0].elementsEqual("destination".utf8), let device = number(top[1]),
              let destination = number(top[2]) else { return nil }
        var journal = InstallJournal(device: device, destination: destination, operations: [])
        for line in lines {
            let fields = words(line)
            if fields.count == 2, fields[0].elementsEqual("end".utf8) {
                return (journal, number(fields[1]) == UInt64(journal.operations.count))
            }
            guard fields.count == 5, let new = number(fields[1]), let old = number(fields[2]),
                  let target = path(fields[3]), let staged = path(fields[4]) else { break }
            switch String(decoding: fields[0], as: UTF8.self) {
            case "place": journal.operations.append(Operation(destination: target, staged: staged, new: new, old: nil))
            case "swap": journal.operations.append(Operation(destination: target, staged: staged, new: new, old: old))
            default: return (journal, false)
            }
        }
        return (journal, false)
    }

    /// A path as its components in hex, joined by `/`: any byte of a name survives, and no name can
    /// be read as a separator.
    private static func encode(_ path: [[UInt8]]) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for (index, component) in path.enumerated() {
            if index > 0 { text.append(UInt8(ascii: "/")) }
            for byte in component { text += [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]] }
        }
        return text
    }

    /// The components of an encoded path; nil unless each is a name an entry can have (not empty, not
    /// `.` or `..`, no `/` or NUL), so that a damaged journal cannot lead outside its directories.
    private static func path(_ text: ArraySlice<UInt8>) -> [[UInt8]]? {
        var components: [[UInt8]] = []
        for hex in text.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard !hex.isEmpty, hex.count % 2 == 0 else { return nil }
            var name: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                guard let high = nibble(hex[index]), let low = nibble(hex[index + 1]) else { return nil }
                name.append(high << 4 | low)
                index += 2
            }
            guard name != [0x2E], name != [0x2E, 0x2E], !name.contains(0), !name.contains(UInt8(ascii: "/")) else { return nil }
            components.append(name)
        }
        return components.isEmpty ? nil : components
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    private static func words(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        line.split(separator: 0x20, omittingEmptySubsequences: false)
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 20, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return UInt64(String(decoding: digits, as: UTF8.self))
    }
}
