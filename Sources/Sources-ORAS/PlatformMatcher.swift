import Pipeline

/// Picks an index entry for a platform, as containerd's `platforms.Only` would for a single
/// wanted platform: os and architecture must agree (after normalising aliases such as `x86_64`);
/// a wanted variant or OS version must agree too; among the entries that qualify, the one that
/// also agrees on what was not asked for wins, then the first listed.
public struct PlatformMatcher: Sendable {
    public let wanted: Platform

    public init(_ wanted: Platform) { self.wanted = wanted }

    /// The best entry for `wanted`, or nil. Entries without a platform never match.
    public func select(from entries: [Descriptor]) -> Descriptor? {
        var best: (score: Int, entry: Descriptor)?
        for entry in entries {
            guard let score = score(entry.platform) else { continue }
            if best == nil || score > best!.score { best = (score, entry) }
        }
        return best?.entry
    }

    /// nil when the entry cannot serve `wanted`; otherwise higher is closer.
    func score(_ platform: DescriptorPlatform?) -> Int? {
        guard let platform else { return nil }
        guard platform.os.lowercased() == wanted.os.lowercased(),
              Self.architecture(platform.architecture) == Self.architecture(wanted.architecture) else { return nil }
        var score = 0
        let variant = Self.variant(platform.variant, architecture: platform.architecture)
        let wantedVariant = Self.variant(wanted.variant, architecture: wanted.architecture)
        if let wantedVariant {
            guard variant == wantedVariant else { return nil }
            score += 2
        } else if variant == nil {
            score += 1
        }
        if let wantedVersion = wanted.osVersion {
            // "10.0.17763" matches "10.0.17763" and "10.0.17763.1234" (a Windows build with its revision).
            guard let version = platform.osVersion,
                  version == wantedVersion || version.hasPrefix(wantedVersion + ".") else { return nil }
            score += version == wantedVersion ? 4 : 3
        }
        return score
    }

    static func architecture(_ name: String) -> String {
        switch name.lowercased() {
        case "x86_64", "x86-64": "amd64"
        case "aarch64": "arm64"
        case let other: other
        }
    }

    /// arm64's default variant is v8: `arm64` and `arm64/v8` are the same platform.
    static func variant(_ variant: String?, architecture: String) -> String? {
        let lowered = variant?.lowercased()
        if self.architecture(architecture) == "arm64", lowered == "v8" { return nil }
        return lowered
    }
}
