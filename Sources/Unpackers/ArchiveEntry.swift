import CArchive
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One entry's header, copied out of libarchive's `archive_entry`, with its names as the bytes they get
/// on disk (`EntryNameDecoding`): every rule about names works on these bytes, never on Swift
/// `Character`s, which merge `/` with a combining mark after it and compare NFC equal to NFD.
struct ArchiveEntry {
    enum Kind: Equatable {
        case file
        case directory
        case symlink(target: [UInt8])
        case hardLink(target: [UInt8])
        /// Device nodes, FIFOs, sockets and unknown types: never extracted, named for the message.
        case refused(String)
    }

    let name: [UInt8]
    let kind: Kind
    /// Permission bits as stored, set-id and sticky bits included.
    let permissions: mode_t
    /// The mode pkgfetch gives what it installs: the stored bits without write for group and others,
    /// set-id and sticky (what `tar` does under a 022 umask). The executable bits stay.
    var installedPermissions: mode_t { permissions & 0o755 }
    /// The unpacked size the header declares, when it declares one.
    let declaredSize: Int64?
    let modified: timespec?
    let accessed: timespec?
    /// Encrypted data cannot be read without a password, which pkgfetch never has.
    let isEncrypted: Bool

    // AE_IF* are cast macros Swift does not import; these are their values.
    private static let typeMask: mode_t = 0o170000
    private static let typeNames: [mode_t: String] = [
        0o020000: "a character device", 0o060000: "a block device", 0o010000: "a FIFO", 0o140000: "a socket",
    ]

    /// Returns nil when the entry's name cannot be read at all.
    init?(_ entry: OpaquePointer, _ library: pkgfetch_libarchive, legacyNames: EntryNameDecoding.Legacy) {
        func text(_ pointer: UnsafePointer<CChar>?) -> [UInt8]? {
            guard let pointer else { return nil }
            let bytes = UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))
            return EntryNameDecoding.decode(Array(bytes), legacy: legacyNames)
        }
        guard let name = text(library.entry_pathname(entry)) else { return nil }
        self.name = name

        let type = library.entry_filetype(entry) & Self.typeMask
        if let target = text(library.entry_hardlink(entry)) {
            kind = .hardLink(target: target)
        } else {
            switch type {
            case 0o100000: kind = .file
            case 0o040000: kind = .directory
            case 0o120000: kind = .symlink(target: text(library.entry_symlink(entry)) ?? [])
            default: kind = .refused(Self.typeNames[type] ?? "of unknown type 0o\(String(type, radix: 8))")
            }
        }
        permissions = library.entry_perm(entry) & 0o7777
        declaredSize = library.entry_size_is_set(entry) != 0 ? library.entry_size(entry) : nil
        modified = library.entry_mtime_is_set(entry) != 0
            ? timespec(tv_sec: library.entry_mtime(entry), tv_nsec: library.entry_mtime_nsec(entry)) : nil
        accessed = library.entry_atime_is_set(entry) != 0
            ? timespec(tv_sec: library.entry_atime(entry), tv_nsec: library.entry_atime_nsec(entry)) : nil
        isEncrypted = library.entry_is_encrypted(entry) != 0
    }
}
