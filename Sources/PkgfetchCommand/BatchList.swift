#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Pipeline

/// The packages of a `batch` run, read from a JSON array such as
///
///     [{"url": "https://…/cni-plugins-linux-amd64-v1.6.2.tgz", "dest": "/opt/cni/bin", "sha256": "…"},
///      {"url": "https://…/kubernetes-node-linux-amd64.tar.gz", "output": "/tmp/k.tar.gz"}]
///
/// Each entry names its URL and exactly one of `dest` or `output`, and may add `sha256`, `platform`,
/// `exitCode` (1–255: the code to exit with when this package is the first to fail), and with `dest`,
/// `replace` (bool), `unpack` (bool, default true) and the shaping fields `include` (array of globs),
/// `stripComponents` (number), `renameSuffix` and `rename` (strings), as `fetch`'s flags of those
/// names (`Shaping`). Unknown fields are errors, so
/// a misspelt `sha256` cannot silently skip a check.
struct BatchList {
    struct Entry {
        var url: String
        var target: InstallTarget
        var sha256: SHA256Digest?
        var platform: Platform?
        var exitCode: Int32?
        var shaping: Shaping = .none
    }

    let entries: [Entry]

    /// Reads the list from a file, or from standard input for `-`.
    static func load(from path: String) throws -> BatchList {
        let data: Data
        if path == "-" {
            data = StandardStream.input.readDataToEndOfFile()
        } else {
            data = try readFile(path)
        }
        return try BatchList(json: data)
    }

    /// The file's bytes; a file that cannot be read is a usage error that says why (strerror).
    private static func readFile(_ path: String) throws -> Data {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw unreadable(path, errno) }
        defer { close(descriptor) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return data }
            if count < 0 {
                if errno == EINTR { continue }
                throw unreadable(path, errno)
            }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    private static func unreadable(_ path: String, _ code: Int32) -> PkgfetchError {
        PkgfetchError(.usage, "cannot read the batch list \(PrintableLine.escaping(path)): \(String(cString: strerror(code)))")
    }

    init(json data: Data) throws {
        let raw: [RawEntry]
        do {
            raw = try JSONDecoder().decode([RawEntry].self, from: data)
        } catch let error as DecodingError {
            // Not JSON at all: say where it breaks, which the decoder does not.
            if let syntax = JSONSyntaxError.find(in: data) {
                throw PkgfetchError(.usage, "the batch list is not valid JSON: \(syntax)")
            }
            throw Self.describe(error)
        }
        guard !raw.isEmpty else { throw PkgfetchError(.usage, "the batch list is empty") }
        entries = try raw.enumerated().map { index, entry in
            do {
                return try entry.resolved()
            } catch let failure as PkgfetchError {
                throw PkgfetchError(.usage, "batch list entry \(index + 1): \(failure.message)")
            }
        }
    }

    /// One line naming the entry and the field, instead of the decoder's coding-path dump.
    private static func describe(_ error: DecodingError) -> PkgfetchError {
        let (context, problem): (DecodingError.Context?, String) = switch error {
        case .typeMismatch(let type, let context):
            (context, "must be \(type == Bool.self ? "true or false" : type == Int.self ? "a number" : type is [Any].Type ? "an array of strings" : "a string")")
        case .valueNotFound(_, let context): (context, "must not be null")
        case .keyNotFound(let key, let context): (context, "\"\(key.stringValue)\" is missing")
        case .dataCorrupted(let context): (context, context.debugDescription)
        @unknown default: (nil, "is malformed")
        }
        guard let context, let index = context.codingPath.first?.intValue else {
            let detail = if case .dataCorrupted = error { " (\(problem))" } else { "" }
            return PkgfetchError(.usage, "the batch list is not a JSON array of packages\(detail)")
        }
        let field = context.codingPath.dropFirst().first.map { "\"\($0.stringValue)\" " } ?? ""
        return PkgfetchError(.usage, "batch list entry \(index + 1): \(field)\(problem)")
    }
}

/// An entry as written, before its fields are checked together.
private struct RawEntry: Decodable {
    var url: String
    var dest: String?
    var output: String?
    var sha256: String?
    var platform: String?
    var replace: Bool?
    var unpack: Bool?
    var exitCode: Int?
    var include: [String]?
    var stripComponents: Int?
    var renameSuffix: String?
    var rename: String?

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case url, dest, output, sha256, platform, replace, unpack, exitCode, include, stripComponents, renameSuffix, rename
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue).filter({ !known.contains($0) }).sorted().first {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "unknown field \"\(unknown)\" (known: \(known.sorted().joined(separator: ", ")))"))
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        url = try container.decode(String.self, forKey: .url)
        dest = try container.decodeIfPresent(String.self, forKey: .dest)
        output = try container.decodeIfPresent(String.self, forKey: .output)
        sha256 = try container.decodeIfPresent(String.self, forKey: .sha256)
        platform = try container.decodeIfPresent(String.self, forKey: .platform)
        replace = try container.decodeIfPresent(Bool.self, forKey: .replace)
        unpack = try container.decodeIfPresent(Bool.self, forKey: .unpack)
        exitCode = try container.decodeIfPresent(Int.self, forKey: .exitCode)
        include = try container.decodeIfPresent([String].self, forKey: .include)
        stripComponents = try container.decodeIfPresent(Int.self, forKey: .stripComponents)
        renameSuffix = try container.decodeIfPresent(String.self, forKey: .renameSuffix)
        rename = try container.decodeIfPresent(String.self, forKey: .rename)
    }

    func resolved() throws -> BatchList.Entry {
        if url.isEmpty { throw PkgfetchError(.usage, "\"url\" is empty") }
        let target: InstallTarget
        switch (dest, output) {
        case (let dest?, nil):
            target = .directory(path: dest, mode: replace == true ? .replace : .merge, unpack: unpack ?? true)
        case (nil, let output?):
            if replace != nil || unpack != nil || include != nil || stripComponents != nil || renameSuffix != nil || rename != nil {
                throw PkgfetchError(.usage, "\"replace\", \"unpack\", \"include\", \"stripComponents\", \"renameSuffix\" and \"rename\" "
                                        + "go with \"dest\"; \"output\" saves the file as it is")
            }
            target = .file(path: output)
        case (nil, nil): throw PkgfetchError(.usage, "give \"dest\" (unpack into a directory) or \"output\" (save the file)")
        case (.some, .some): throw PkgfetchError(.usage, "\"dest\" and \"output\" cannot be used together")
        }
        if target.path.isEmpty { throw PkgfetchError(.usage, "\"dest\" or \"output\" is empty") }
        let digest = try sha256.map { text in
            guard let digest = SHA256Digest(text) else { throw PkgfetchError(.usage, "\"sha256\" is not a SHA-256 (64 hex digits)") }
            return digest
        }
        let parsedPlatform = try platform.map { text in
            guard let parsed = Platform(parsing: text) else { throw PkgfetchError(.usage, "\"platform\" is not os/arch[/variant]") }
            return parsed
        }
        let code = try exitCode.map { code in
            guard (1...255).contains(code) else { throw PkgfetchError(.usage, "\"exitCode\" must be from 1 to 255") }
            return Int32(code)
        }
        let shaping = try Shaping(include: include ?? [], stripComponents: stripComponents ?? 0, renameSuffix: renameSuffix,
                                  rename: rename, names: .fields)
        return BatchList.Entry(url: url, target: target, sha256: digest, platform: parsedPlatform, exitCode: code, shaping: shaping)
    }
}
