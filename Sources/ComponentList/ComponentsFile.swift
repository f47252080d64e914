#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// AgentBaker's `components.json`, the part pkgfetch reads: the `Packages` array. Everything else in
/// the file (container images, `renovateTag`, comments) is ignored, so a newer file still decodes.
public struct ComponentsFile: Decodable, Sendable {
    /// The packages, in file order.
    public var packages: [ComponentPackage]

    /// The largest file read (the real one is about 80 KiB).
    public static let maxBytes = 16 << 20

    private enum CodingKeys: String, CodingKey {
        case packages = "Packages"
    }

    public init(packages: [ComponentPackage]) {
        self.packages = packages
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        packages = try container.decodeIfPresent([ComponentPackage].self, forKey: .packages) ?? []
    }

    /// Decodes the file's bytes; a malformed file is one line naming where.
    public init(json data: Data) throws(ComponentListError) {
        if let syntax = JSONSyntaxError.find(in: data) {
            throw ComponentListError("the components file is not JSON: \(syntax)")
        }
        do {
            self = try JSONDecoder().decode(ComponentsFile.self, from: data)
        } catch let error as DecodingError {
            throw ComponentListError(Self.describe(error))
        } catch {
            throw ComponentListError("the components file is not JSON")
        }
    }

    /// Reads and decodes the file at `path`, refusing one larger than `limit` before holding more of it.
    /// Blocking: call it off the cooperative pool.
    public static func load(path: String, limit: Int = maxBytes) throws(ComponentListError) -> ComponentsFile {
        try ComponentsFile(json: BoundedRead.contents(of: path, limit: limit, what: "the components file"))
    }

    private static func describe(_ error: DecodingError) -> String {
        let (context, problem): (DecodingError.Context?, String) = switch error {
        case .typeMismatch(let type, let context): (context, "is not \(type == String.self ? "a string" : "of the expected type")")
        case .valueNotFound(_, let context): (context, "must not be null")
        case .keyNotFound(let key, let context): (context, "has no \"\(key.stringValue)\"")
        case .dataCorrupted(let context): (context, "is not JSON (\(context.debugDescription))")
        @unknown default: (nil, "is malformed")
        }
        let path = (context?.codingPath ?? []).map { key in key.intValue.map { "[\($0 + 1)]" } ?? ".\(key.stringValue)" }.joined()
        return path.isEmpty ? "the components file \(problem)" : "components file: \(path) \(problem)"
    }
}

/// One package: where its files go, and per OS and release, which versions and from where.
public struct ComponentPackage: Decodable, Sendable {
    public var name: String
    /// Linux directory the image build saves the files into.
    public var downloadLocation: String?
    /// Windows directory (`c:\akse-cache\kubelet\`).
    public var windowsDownloadLocation: String?
    /// `downloadURIs.<os>.<release>`: `<release>` may carry a variant (`OSGUARD/v3.0`).
    public var downloadURIs: [String: [String: ReleaseEntry]]

    private enum CodingKeys: String, CodingKey {
        case name, downloadLocation, windowsDownloadLocation, downloadURIs
    }

    public init(name: String, downloadLocation: String? = nil, windowsDownloadLocation: String? = nil,
                downloadURIs: [String: [String: ReleaseEntry]]) {
        self.name = name
        self.downloadLocation = downloadLocation
        self.windowsDownloadLocation = windowsDownloadLocation
        self.downloadURIs = downloadURIs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        downloadLocation = try container.decodeIfPresent(String.self, forKey: .downloadLocation)
        windowsDownloadLocation = try container.decodeIfPresent(String.self, forKey: .windowsDownloadLocation)
        downloadURIs = try container.decodeIfPresent([String: [String: ReleaseEntry]].self, forKey: .downloadURIs) ?? [:]
    }
}

/// One `downloadURIs.<os>.<release>` entry.
public struct ReleaseEntry: Decodable, Sendable {
    /// The current form: objects with `latestVersion` and more.
    public var versionsV2: [VersionItem]?
    /// The older form: plain version strings.
    public var versions: [String]?
    /// URL template (https) or registry reference template, for Linux.
    public var downloadURL: String?
    /// URL template for Windows (else `downloadURL` of a `windows` entry is).
    public var windowsDownloadURL: String?

    public init(versionsV2: [VersionItem]? = nil, versions: [String]? = nil, downloadURL: String? = nil, windowsDownloadURL: String? = nil) {
        self.versionsV2 = versionsV2
        self.versions = versions
        self.downloadURL = downloadURL
        self.windowsDownloadURL = windowsDownloadURL
    }
}

/// One `versionsV2` item.
public struct VersionItem: Decodable, Sendable {
    public var latestVersion: String?
    public var previousLatestVersion: String?
    /// The Kubernetes minor this version is for (`1.34`), where it is bound to one.
    public var k8sVersion: String?

    public init(latestVersion: String?, previousLatestVersion: String? = nil, k8sVersion: String? = nil) {
        self.latestVersion = latestVersion
        self.previousLatestVersion = previousLatestVersion
        self.k8sVersion = k8sVersion
    }
}

/// A problem with the components file or the selection, as one line.
public struct ComponentListError: Error, Sendable, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
