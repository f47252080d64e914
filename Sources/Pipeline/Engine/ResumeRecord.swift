import Crypto

/// What a later run needs to continue a partial download a killed run left in its staging (as
/// `curl -C -` does): which source it is, which version of it the staged bytes are, and how large that
/// version is. Written beside the staging file (`<file>.resume`) once a download's first answer names
/// its version strongly; removed when the staged bytes are dropped. The source is named by a hash of
/// its whole location, so a signed URL's secret query never reaches the file.
struct ResumeRecord: Equatable, Sendable {
    /// SHA-256 (hex) of the source's scheme and full location.
    var identity: String
    /// The version of the staged bytes: a strong ETag, a strong Last-Modified, or a blob digest.
    var validator: Validator
    /// The size of that version; a staged file larger than this is not adopted.
    var totalSize: Int64
    /// How many of the staged bytes, from the start, are that version's in order; the file beyond them
    /// may hold holes and bytes written ahead by a ranged copy, and is cut off before it is continued.
    /// nil: all of them (the file was written in order).
    var staged: Int64? = nil

    static let suffix = Array(".resume".utf8)
    /// The most a record may hold; a larger file is not read.
    static let sizeLimit = 4096

    /// The identity of `source`.
    static func identity(of source: Source) -> String {
        SHA256Digest(SHA256.hash(data: Array("\(source.scheme)\n\(source.location)".utf8))).hex
    }

    /// A record for `source` at `validator`, or nil when that kind of validator cannot be trusted
    /// across runs (a local file's token) or the text cannot be kept on one line.
    init?(source: Source, validator: Validator, totalSize: Int64) {
        switch validator {
        case .entityTag(let text), .lastModified(let text):
            guard !text.utf8.isEmpty, text.utf8.count <= 1024, !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return nil }
        case .digest:
            break
        case .token:
            return nil
        }
        guard totalSize >= 0 else { return nil }
        self.init(identity: Self.identity(of: source), validator: validator, totalSize: totalSize)
    }

    init(identity: String, validator: Validator, totalSize: Int64) {
        (self.identity, self.validator, self.totalSize) = (identity, validator, totalSize)
    }

    var encoded: [UInt8] {
        let (kind, value): (String, String) = switch validator {
        case .entityTag(let tag): ("etag", tag)
        case .lastModified(let date): ("last-modified", date)
        case .digest(let digest): ("digest", digest.hex)
        case .token(let token): ("token", token)
        }
        let staged = staged.map { "staged \($0)\n" } ?? ""
        return Array("pkgfetch-resume 1\nsource \(identity)\n\(kind) \(value)\nsize \(totalSize)\n\(staged)end\n".utf8)
    }

    /// Reads a record; nil for anything that is not a complete, well-formed one.
    init?(parsing bytes: [UInt8]) {
        guard bytes.count <= Self.sizeLimit else { return nil }
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard lines.count == 6 || lines.count == 7, lines[0] == "pkgfetch-resume 1", lines[lines.count - 2] == "end",
              lines[lines.count - 1].isEmpty else { return nil }
        func field(_ line: String, _ key: String) -> String? {
            line.hasPrefix(key + " ") ? String(line.dropFirst(key.count + 1)) : nil
        }
        var staged: Int64?
        if lines.count == 7 {
            guard let text = field(lines[4], "staged"), let count = Int64(text), count >= 0 else { return nil }
            staged = count
        }
        guard let identity = field(lines[1], "source"), identity.utf8.count == 64, SHA256Digest(identity) != nil,
              let sizeText = field(lines[3], "size"), let size = Int64(sizeText), size >= 0 else { return nil }
        let validator: Validator
        if let tag = field(lines[2], "etag"), Validator.isStrongEntityTag(tag) {
            validator = .entityTag(tag)
        } else if let date = field(lines[2], "last-modified"), !date.isEmpty {
            validator = .lastModified(date)
        } else if let hex = field(lines[2], "digest"), let digest = SHA256Digest(hex) {
            validator = .digest(digest)
        } else {
            return nil
        }
        self.init(identity: identity, validator: validator, totalSize: size)
        self.staged = staged
    }
}
