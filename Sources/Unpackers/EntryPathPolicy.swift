/// Which names an entry may have, and where under the directory a name lands, decided on the name's
/// bytes: a component is what lies between separator bytes, whatever characters surround them.
///
/// Both `/` and `\` separate components: zip requires `/` but Windows tools write `\`, and on the
/// Windows nodes pkgfetch also serves, `..\x` escapes as surely as `../x`. Names that are absolute on
/// either system (`/x`, `\x`, `\\server\x`, `C:\x`, `C:x`) and names with a `..` component are refused,
/// not rewritten: a package that ships them is broken or hostile, and guessing would hide it.
///
/// Sizes are checked first, before a name is split or anything is kept for it: at most `maxNameBytes`
/// (Linux's PATH_MAX less the terminating NUL: no system call takes a longer path), `maxComponentBytes`
/// per component (NAME_MAX) and `maxDepth` components.
enum EntryPathPolicy {
    static let maxNameBytes = 4095
    static let maxComponentBytes = 255
    /// Far deeper than any package goes; it keeps every walk of the tree (ours, the installer's, `rm`'s)
    /// short.
    static let maxDepth = 1024

    private static let slash = UInt8(ascii: "/")
    private static let backslash = UInt8(ascii: "\\")
    private static let dot = UInt8(ascii: ".")

    /// The components of an entry's path under the directory; empty for the directory itself (`./`).
    static func components(ofEntry name: [UInt8]) throws -> [[UInt8]] {
        let components = try checkedComponents(of: name, entry: name, what: "its path")
        if let reason = refusal(of: name, components) {
            throw UnpackFailure.unsafe(entry: name, "its path \(reason)")
        }
        return components
    }

    /// The same rules for the target of a hard link, which must name an entry inside the directory.
    static func components(ofLinkTarget target: [UInt8], entry: [UInt8]) throws -> [[UInt8]] {
        let what = "it is a hard link whose target \(UnpackFailure.quoted(target))"
        let components = try checkedComponents(of: target, entry: entry, what: what)
        if let reason = refusal(of: target, components) {
            throw UnpackFailure.unsafe(entry: entry, "\(what) \(reason)")
        }
        return components
    }

    /// Why a symlink target is refused before it is even followed; nil when it may be followed.
    /// Backslashes are refused outright: the kernel reads them as part of a name, Windows as separators,
    /// and a target must mean the same thing on both.
    static func refusal(ofSymlinkTarget target: [UInt8]) -> String? {
        if target.isEmpty { return "is empty" }
        if target.count > maxNameBytes { return "is \(target.count) bytes long, more than \(maxNameBytes) (PATH_MAX)" }
        if isAbsolute(target) { return "is an absolute path" }
        if target.contains(backslash) { return "contains a backslash" }
        return nil
    }

    /// The components of a symlink's target, split on `/` only (backslashes are refused before).
    static func components(ofSymlinkTarget target: [UInt8]) -> [[UInt8]] {
        target.split(separator: slash).map(Array.init)
    }

    static func isDotDot(_ component: some Collection<UInt8>) -> Bool { component.elementsEqual([dot, dot]) }
    static func isDot(_ component: some Collection<UInt8>) -> Bool { component.count == 1 && component.first == dot }

    /// Splits after checking the whole length, then checks depth and each component's length.
    private static func checkedComponents(of path: [UInt8], entry: [UInt8], what: String) throws -> [[UInt8]] {
        guard path.count <= maxNameBytes else {
            throw UnpackFailure.unsafe(entry: entry, "\(what) is \(path.count) bytes long, more than \(maxNameBytes) (PATH_MAX)")
        }
        let components = path.split(whereSeparator: { $0 == slash || $0 == backslash }).filter { !isDot($0) }
        guard components.count <= maxDepth else {
            throw UnpackFailure.unsafe(entry: entry, "\(what) has \(components.count) components, more than \(maxDepth) (depth limit)")
        }
        if let long = components.first(where: { $0.count > maxComponentBytes }) {
            throw UnpackFailure.unsafe(entry: entry, "\(what) has a component of \(long.count) bytes, more than \(maxComponentBytes) (NAME_MAX)")
        }
        return components.map(Array.init)
    }

    private static func refusal(of path: [UInt8], _ components: [[UInt8]]) -> String? {
        if isAbsolute(path) { return "is absolute" }
        if components.contains(where: { isDotDot($0) }) { return "has a \"..\" component" }
        return nil
    }

    private static func isAbsolute(_ path: [UInt8]) -> Bool {
        guard let first = path.first else { return false }
        if first == slash || first == backslash { return true }
        // A drive letter: `C:\x`, `C:/x`, and the drive-relative `C:x`.
        return path.count >= 2 && path[1] == UInt8(ascii: ":")
            && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(path[0] | 0x20)
    }
}

/// The entry rules for a name that must be one file directly in a directory: an OCI layer's title,
/// which `oras pull -o DIR` writes as `DIR/<title>`. What an archive entry may not be (absolute, with a
/// `..` component, longer than the system takes), and besides one component: no `/` or `\`, not `.`.
public enum FileNamePolicy {
    /// Throws `unsafe-archive` naming `name` unless it is one plain file name.
    public static func check(_ name: String) throws {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, !bytes.contains(0) else { throw UnpackFailure.unsafe(entry: bytes, "a file name must be non-empty, without NUL") }
        guard try EntryPathPolicy.components(ofEntry: bytes) == [bytes] else {
            throw UnpackFailure.unsafe(entry: bytes, "it is a path (a '/' or '\\' in it, or '.'), not one file name")
        }
    }
}
