#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// The manifest media types pkgfetch asks for and understands.
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"

    /// The `Accept` header of a manifest request: single manifests and indexes, OCI and Docker.
    public static let manifestAccept = [ociManifest, ociIndex, dockerManifest, dockerManifestList].joined(separator: ", ")

    static func isIndex(_ type: String) -> Bool { type == ociIndex || type == dockerManifestList }
    static func isManifest(_ type: String) -> Bool { type == ociManifest || type == dockerManifest }
}

/// Annotation keys pkgfetch reads.
public enum Annotation {
    /// The file name oras gives a layer (`oras push FILE` → the base name of FILE).
    public static let title = "org.opencontainers.image.title"
    /// Set by oras on a layer that is a directory packed as tar+gzip.
    public static let unpack = "io.deis.oras.content.unpack"
}

/// A content descriptor: what a manifest says about a blob or another manifest.
public struct Descriptor: Codable, Sendable, Equatable {
    public var mediaType: String?
    public var digest: String
    public var size: Int64
    public var annotations: [String: String]?
    public var platform: DescriptorPlatform?

    public init(mediaType: String? = nil, digest: String, size: Int64, annotations: [String: String]? = nil,
                platform: DescriptorPlatform? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }

    public var title: String? { annotations?[Annotation.title] }

    /// The digest as pkgfetch can verify it; nil for another algorithm.
    public var sha256: SHA256Digest? {
        digest.hasPrefix("sha256:") ? SHA256Digest(digest) : nil
    }
}

/// The `platform` object of an index entry.
public struct DescriptorPlatform: Codable, Sendable, Equatable {
    public var os: String
    public var architecture: String
    public var variant: String?
    public var osVersion: String?

    enum CodingKeys: String, CodingKey {
        case os, architecture, variant
        case osVersion = "os.version"
    }

    public init(os: String, architecture: String, variant: String? = nil, osVersion: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
        self.osVersion = osVersion
    }

    public var description: String {
        var text = "\(os)/\(architecture)"
        if let variant { text += "/\(variant)" }
        if let osVersion { text += ":\(osVersion)" }
        return text
    }
}

/// An image manifest (OCI or Docker v2): only what locating a file needs.
public struct ImageManifest: Codable, Sendable, Equatable {
    public var mediaType: String?
    public var layers: [Descriptor]
}

/// An image index (OCI) or manifest list (Docker).
public struct ImageIndex: Codable, Sendable, Equatable {
    public var mediaType: String?
    public var manifests: [Descriptor]
}

/// A fetched manifest, decoded by its media type.
public enum ManifestDocument: Sendable, Equatable {
    case manifest(ImageManifest)
    case index(ImageIndex)

    /// Decodes `body` given the response's `Content-Type`; when that is missing or generic, the
    /// document's own `mediaType` decides, and failing that its shape (`manifests` vs `layers`).
    public static func decode(_ body: Data, contentType: String?, what: String) throws -> ManifestDocument {
        struct Probe: Decodable {
            var mediaType: String?
            var manifests: [Descriptor]?
            var layers: [Descriptor]?
        }
        func malformed(_ detail: String) -> PkgfetchError {
            PkgfetchError(.orasPullFailed, "\(what): manifest is not valid JSON of a known shape (\(detail))")
        }
        let probe: Probe
        do { probe = try JSONDecoder().decode(Probe.self, from: body) } catch {
            throw malformed(Self.describe(error))
        }
        let header = contentType.map { $0.split(separator: ";").first.map(String.init) ?? $0 }?
            .trimmingWhitespace.lowercased()
        var type = header
        if type == nil || !(MediaType.isIndex(type!) || MediaType.isManifest(type!)) {
            type = probe.mediaType ?? (probe.manifests != nil ? MediaType.ociIndex : probe.layers != nil ? MediaType.ociManifest : header)
        }
        guard let type else { throw malformed("no media type") }
        if MediaType.isIndex(type) {
            guard let manifests = probe.manifests else { throw malformed("an index without 'manifests'") }
            return .index(ImageIndex(mediaType: type, manifests: manifests))
        }
        if MediaType.isManifest(type) {
            guard let layers = probe.layers else { throw malformed("a manifest without 'layers'") }
            return .manifest(ImageManifest(mediaType: type, layers: layers))
        }
        throw PkgfetchError(.orasPullFailed, "\(what): unsupported manifest media type '\(type)'")
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context): "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: "unreadable"
        }
    }
}
