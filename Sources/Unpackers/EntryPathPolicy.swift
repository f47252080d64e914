/// Which names an entry may have, and where under the directory a name lands.
///
/// Both `/` and `\` separate components: zip requires `/` but Windows tools write `\`, and on the
/// Windows nodes pkgfetch also serves, `..\x` escapes as surely as `../x`. Names that are absolute on
/// either system (`/x`, `\x`, `\\server\x`, `C:\x`, `C:x`) and names with a `..` component are refused,
/// not rewritten: a package that ships them is broken or hostile, and guessing would hide it.
enum EntryPathPolicy {
    /// The components of an entry's path under the directory; empty for the directory itself (`./`).
    static func components(ofEntry name: String) throws -> [String] {
        if let reason = refusal(of: name) {
            throw UnpackFailure.unsafe(entry: name, "its path \(reason)")
        }
        return splitComponents(name)
    }

    /// The same rules for the target of a hard link, which must name an entry inside the directory.
    static func components(ofLinkTarget target: String, entry: String) throws -> [String] {
        if let reason = refusal(of: target) {
            throw UnpackFailure.unsafe(entry: entry, "is a hard link whose target \(UnpackFailure.quoted(target)) \(reason)")
        }
        return splitComponents(target)
    }

    /// Why a symlink target is refused before it is even followed; nil when it may be followed.
    /// Backslashes are refused outright: the kernel reads them as part of a name, Windows as separators,
    /// and a target must mean the same thing on both.
    static func refusal(ofSymlinkTarget target: String) -> String? {
        if target.isEmpty { return "is empty" }
        if isAbsolute(target) { return "is an absolute path" }
        if target.contains("\\") { return "contains a backslash" }
        return nil
    }

    private static func refusal(of path: String) -> String? {
        if isAbsolute(path) { return "is absolute" }
        if path.split(whereSeparator: isSeparator).contains("..") { return "has a \"..\" component" }
        return nil
    }

    private static func isAbsolute(_ path: String) -> Bool {
        guard let first = path.utf8.first else { return false }
        if first == UInt8(ascii: "/") || first == UInt8(ascii: "\\") { return true }
        // A drive letter: `C:\x`, `C:/x`, and the drive-relative `C:x`.
        let bytes = Array(path.utf8.prefix(2))
        return bytes.count == 2 && bytes[1] == UInt8(ascii: ":")
            && ((UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0] | 0x20))
    }

    private static func splitComponents(_ path: String) -> [String] {
        path.split(whereSeparator: isSeparator).filter { $0 != "." }.map(String.init)
    }

    private static func isSeparator(_ character: Character) -> Bool { character == "/" || character == "\\" }
}
