/// What of a package is installed, and under which names: members chosen by glob (`--include`),
/// leading path components dropped (`--strip-components`), and names changed on install
/// (`--rename-suffix`, `--rename`). The same for every way a package arrives: each archive entry and
/// a file placed as it is go through one `ShapingPass`, and what it returns then meets every rule an
/// entry's name meets (the unpacker's path policy, the installer's checks).
public struct Shaping: Sendable, Equatable {
    /// Globs over a member's path in the package (before stripping); a member is kept when one matches
    /// it or a directory above it. Empty: every member.
    public private(set) var include: [String]
    /// Leading path components dropped from every member; a member with no more is not installed.
    public private(set) var stripComponents: Int
    /// Appended to the name of every installed file, link and symlink (not directories).
    public private(set) var renameSuffix: String?
    /// The name of the one file the package comes to (its directory is kept).
    public private(set) var rename: String?

    /// No shaping: every member, under its own name.
    public static let none = Shaping(unchecked: [], 0, nil, nil)

    /// Shaping as asked; throws `usage` for a glob, count or name that cannot be right. `names` are the
    /// fields' names in the message (`--include` or `"include"`), so a flag and a list field read as typed.
    public init(include: [String] = [], stripComponents: Int = 0, renameSuffix: String? = nil, rename: String? = nil,
                names: FieldNames = .flags) throws {
        if include.contains(where: \.isEmpty) { throw PkgfetchError(.usage, "\(names.include) is empty") }
        if include.contains(where: { $0.utf8.contains(0) }) { throw PkgfetchError(.usage, "\(names.include) contains a NUL byte") }
        guard stripComponents >= 0 else { throw PkgfetchError(.usage, "\(names.stripComponents) must be 0 or more") }
        if let renameSuffix, let reason = Self.refusal(ofName: renameSuffix, suffix: true) {
            throw PkgfetchError(.usage, "\(names.renameSuffix) \"\(renameSuffix)\" refused: \(reason)")
        }
        if let rename, let reason = Self.refusal(ofName: rename, suffix: false) {
            throw PkgfetchError(.usage, "\(names.rename) \"\(rename)\" refused: \(reason)")
        }
        if rename != nil, renameSuffix != nil {
            throw PkgfetchError(.usage, "\(names.rename) names the file whole; \(names.renameSuffix) cannot be added to it")
        }
        self.init(unchecked: include, stripComponents, renameSuffix, rename)
    }

    private init(unchecked include: [String], _ strip: Int, _ suffix: String?, _ rename: String?) {
        self.include = include
        self.stripComponents = strip
        self.renameSuffix = suffix
        self.rename = rename
    }

    /// True when every member is installed under its own name.
    public var isNone: Bool { self == .none }

    /// How the fields are called where they were typed, for messages.
    public struct FieldNames: Sendable {
        /// The names of the four fields, as typed (`--include`, `"include"`, …).
        public var include, stripComponents, renameSuffix, rename: String
        /// The command line's flags.
        public static let flags = FieldNames(include: "--include", stripComponents: "--strip-components",
                                             renameSuffix: "--rename-suffix", rename: "--rename")
        /// A batch entry's or a recipe's JSON fields.
        public static let fields = FieldNames(include: "\"include\"", stripComponents: "\"stripComponents\"",
                                              renameSuffix: "\"renameSuffix\"", rename: "\"rename\"")
    }

    /// Why a new name (or suffix) cannot be used; nil when it can. A name is one path component, so
    /// no separator (`/`, `\`), no NUL, not `.`, at most NAME_MAX bytes; and no `..` anywhere, as bytes
    /// (no package needs one, and a rule on the text is simpler to trust than one on where it lands).
    static func refusal(ofName name: String, suffix: Bool) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return "it is empty" }
        if bytes.contains(0) { return "it contains a NUL byte" }
        if bytes.contains(UInt8(ascii: "/")) || bytes.contains(UInt8(ascii: "\\")) { return "it contains a path separator ('/' or '\\')" }
        if zip(bytes, bytes.dropFirst()).contains(where: { $0 == UInt8(ascii: ".") && $1 == UInt8(ascii: ".") }) { return "it contains \"..\"" }
        if !suffix, name == "." { return "it is \".\"" }
        if bytes.count > 255 { return "it is \(bytes.count) bytes long, more than 255 (NAME_MAX)" }
        return nil
    }
}

/// One package's members going through a `Shaping`, in the order they come: says where each lands (or
/// that it is left out), and at the end whether the shaping came to what was asked. Blocks nothing;
/// kept by whoever walks the members (one per extraction or placement).
public struct ShapingPass: Sendable {
    /// What the pass applies.
    public let shaping: Shaping
    private let globs: [[UInt8]]
    private var matched: [Bool]
    /// The member renamed by `rename`, as it was named in the package.
    private var renamed: [[UInt8]]?
    /// Files, links and symlinks kept so far.
    public private(set) var keptFiles = 0

    /// A pass over one package's members, none seen yet.
    public init(_ shaping: Shaping) {
        self.shaping = shaping
        globs = shaping.include.map { Self.normalised(Array($0.utf8)) }
        matched = Array(repeating: false, count: shaping.include.count)
    }

    /// Where a member whose path in the package is `components` (already split, no `.` component) lands
    /// under the destination; nil when the shaping leaves it out. Throws `no-matching-content` when a
    /// second file meets `rename`, which names one.
    public mutating func place(_ components: [[UInt8]], isDirectory: Bool) throws -> [[UInt8]]? {
        if !globs.isEmpty {
            var any = false
            for (index, glob) in globs.enumerated() where Self.matches(glob, pathOrParentOf: components) {
                matched[index] = true
                any = true
            }
            guard any else { return nil }
        }
        guard components.count > shaping.stripComponents else { return nil }
        var placed = Array(components.dropFirst(shaping.stripComponents))
        if isDirectory { return placed }
        if let rename = shaping.rename {
            if let renamed, renamed != components {
                throw PkgfetchError(.noMatchingContent, "rename \"\(rename)\" names one file, but the package has more to install: "
                                        + "\(Self.shown(renamed)) and \(Self.shown(components))")
            }
            renamed = components
            placed[placed.count - 1] = Array(rename.utf8)
        } else if let suffix = shaping.renameSuffix {
            placed[placed.count - 1] += Array(suffix.utf8)
        }
        keptFiles += 1
        return placed
    }

    /// The name a file that is not unpacked is installed under: shaped as the one member of an archive
    /// holding it (one component, so stripping any leaves nothing); throws what `finish()` throws.
    public static func name(ofFile name: String, shapedBy shaping: Shaping) throws -> String {
        var pass = ShapingPass(shaping)
        let placed = try pass.place([Array(name.utf8)], isDirectory: false)
        try pass.finish()
        guard let placed else { throw PkgfetchError(.internal, "the shaping kept no file yet did not say so (a bug in pkgfetch)") }
        return String(decoding: joined(placed), as: UTF8.self)
    }

    /// Where the member a hard link names lands: stripped and renamed as that member was (the choice of
    /// members does not apply: a link to a member left out finds nothing there and is refused).
    public func placeLinkTarget(_ components: [[UInt8]]) -> [[UInt8]]? {
        guard components.count > shaping.stripComponents else { return nil }
        var placed = Array(components.dropFirst(shaping.stripComponents))
        if let rename = shaping.rename {
            guard renamed == components else { return placed }
            placed[placed.count - 1] = Array(rename.utf8)
        } else if let suffix = shaping.renameSuffix {
            placed[placed.count - 1] += Array(suffix.utf8)
        }
        return placed
    }

    /// Throws `no-matching-content` when a glob matched no member (as `tar` does for a name not in the
    /// archive) or when the shaping left no file to install; nothing for no shaping.
    public func finish() throws {
        guard !shaping.isNone else { return }
        if let index = matched.firstIndex(of: false) {
            throw PkgfetchError(.noMatchingContent, "include \"\(shaping.include[index])\" matched no member of the package")
        }
        if keptFiles == 0 {
            var asked: [String] = []
            if !shaping.include.isEmpty { asked.append("include " + shaping.include.map { "\"\($0)\"" }.joined(separator: " ")) }
            if shaping.stripComponents > 0 { asked.append("strip \(shaping.stripComponents) components") }
            throw PkgfetchError(.noMatchingContent, "the shaping (\(asked.isEmpty ? "rename" : asked.joined(separator: ", "))) left no file of the package to install")
        }
    }

    // MARK: - Globs

    /// `./` and trailing `/` removed, as from a member's path.
    private static func normalised(_ glob: [UInt8]) -> [UInt8] {
        joined(glob.split(separator: UInt8(ascii: "/")).filter { !($0.count == 1 && $0.first == UInt8(ascii: ".")) }.map(Array.init))
    }

    /// Whether `glob` matches the path or one of the directories above it (`tar -x dir` extracts what
    /// is in `dir`).
    static func matches(_ glob: [UInt8], pathOrParentOf components: [[UInt8]]) -> Bool {
        var prefix: [UInt8] = []
        for (index, component) in components.enumerated() {
            if index > 0 { prefix.append(UInt8(ascii: "/")) }
            prefix += component
            if GlobPattern.matches(glob[...], prefix[...]) { return true }
        }
        return false
    }

    private static func joined(_ components: [[UInt8]]) -> [UInt8] {
        Array(components.joined(separator: [UInt8(ascii: "/")]))
    }

    private static func shown(_ components: [[UInt8]]) -> String {
        "\"" + String(decoding: joined(components), as: UTF8.self) + "\""
    }
}

/// fnmatch(3) with FNM_PATHNAME on bytes: `*` is any run of bytes but `/`, `?` one byte but `/`,
/// `[a-z]`/`[!a-z]` (also `[^…]`) one byte of a set, `\` takes the next byte as it is. Bytes, not
/// characters, so no locale reads the names.
enum GlobPattern {
    private static let slash = UInt8(ascii: "/")

    static func matches(_ pattern: ArraySlice<UInt8>, _ name: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex, n = name.startIndex
        // Where to resume after the last `*` when a later part fails: the classic backtracking of one star.
        var starP: Int?, starN = 0
        while n < name.endIndex {
            if p < pattern.endIndex {
                switch pattern[p] {
                case UInt8(ascii: "*"):
                    starP = p
                    starN = n
                    p += 1
                    continue
                case UInt8(ascii: "?") where name[n] != slash:
                    p += 1
                    n += 1
                    continue
                case UInt8(ascii: "["):
                    if let (inSet, next) = matchSet(pattern, from: p, byte: name[n]) {
                        if inSet, name[n] != slash {
                            p = next
                            n += 1
                            continue
                        }
                    } else if name[n] == UInt8(ascii: "[") {
                        // An unclosed `[` is itself.
                        p += 1
                        n += 1
                        continue
                    }
                case UInt8(ascii: "\\") where p + 1 < pattern.endIndex && pattern[p + 1] == name[n]:
                    p += 2
                    n += 1
                    continue
                case let byte where byte == name[n] && byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "?"):
                    p += 1
                    n += 1
                    continue
                default:
                    break
                }
            }
            // Mismatch: let the last star take one more byte, unless that byte is a `/`.
            guard let star = starP, name[starN] != slash else { return false }
            starN += 1
            n = starN
            p = star + 1
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }

    /// Whether `byte` is in the set starting at `pattern[start]` (`[`), and the index after the set;
    /// nil when the set is not closed.
    private static func matchSet(_ pattern: ArraySlice<UInt8>, from start: Int, byte: UInt8) -> (Bool, Int)? {
        var i = start + 1
        var negated = false
        if i < pattern.endIndex, pattern[i] == UInt8(ascii: "!") || pattern[i] == UInt8(ascii: "^") {
            negated = true
            i += 1
        }
        var found = false
        var first = true
        while i < pattern.endIndex {
            var low = pattern[i]
            if low == UInt8(ascii: "]"), !first { return (found != negated, i + 1) }
            first = false
            if low == UInt8(ascii: "\\"), i + 1 < pattern.endIndex {
                i += 1
                low = pattern[i]
            }
            if i + 2 < pattern.endIndex, pattern[i + 1] == UInt8(ascii: "-"), pattern[i + 2] != UInt8(ascii: "]") {
                var high = pattern[i + 2]
                i += 2
                if high == UInt8(ascii: "\\"), i + 1 < pattern.endIndex {
                    i += 1
                    high = pattern[i]
                }
                if low <= byte, byte <= high { found = true }
            } else if low == byte {
                found = true
            }
            i += 1
        }
        return nil
    }
}
