/// An OCI platform: `os/arch[/variant][:os.version]`.
public struct Platform: Hashable, Sendable, CustomStringConvertible {
    /// The operating system (`linux`, `windows`).
    public var os: String
    /// The CPU architecture (`amd64`, `arm64`).
    public var architecture: String
    /// The architecture's variant (`v8`), if any.
    public var variant: String?
    /// The OS version (Windows builds), if any.
    public var osVersion: String?

    /// A platform from its parts.
    public init(os: String, architecture: String, variant: String? = nil, osVersion: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
        self.osVersion = osVersion
    }

    /// Parses `os/arch[/variant][:os.version]`; nil when malformed.
    public init?(parsing text: String) {
        var main = Substring(text)
        var version: String?
        if let colon = text.firstIndex(of: ":") {
            main = text[..<colon]
            version = String(text[text.index(after: colon)...])
            if version!.isEmpty { return nil }
        }
        let parts = main.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else { return nil }
        self.init(os: parts[0].lowercased(), architecture: parts[1].lowercased(),
                  variant: parts.count == 3 ? parts[2].lowercased() : nil, osVersion: version)
    }

    /// The machine pkgfetch runs on.
    public static var host: Platform {
        #if os(Windows)
        let os = "windows"
        #elseif os(macOS)
        let os = "darwin"
        #else
        let os = "linux"
        #endif
        #if arch(arm64)
        return Platform(os: os, architecture: "arm64")
        #else
        return Platform(os: os, architecture: "amd64")
        #endif
    }

    /// `os/arch[/variant][:os.version]`.
    public var description: String {
        var text = "\(os)/\(architecture)"
        if let variant { text += "/\(variant)" }
        if let osVersion { text += ":\(osVersion)" }
        return text
    }
}
