/// The implementations pkgfetch can use, keyed by what they handle: resolvers by name, fetchers by
/// source scheme, unpackers by archive format. Built once at the composition root (the CLI).
public struct PluginRegistry: Sendable {
    private var resolvers: [String: any Resolver] = [:]
    private var fetchers: [String: any Fetcher] = [:]
    private var descriptors: [String: BackendDescriptor] = [:]
    private var unpackers: [ArchiveFormat: any Unpacker] = [:]
    private var fallback: (@Sendable (String) -> (any Fetcher)?)?
    private var missing: (@Sendable (String) -> String)?

    /// An empty registry.
    public init() {}

    /// Registers `resolver` under `name`.
    public mutating func register(resolver: any Resolver, named name: String) {
        resolvers[name.lowercased()] = resolver
    }

    /// Registers `fetcher` for each of `schemes`.
    public mutating func register(fetcher: any Fetcher, forSchemes schemes: String...) {
        for scheme in schemes { fetchers[scheme.lowercased()] = fetcher }
    }

    /// Registers a backend: `fetcher` for each of the descriptor's schemes, and what it declares (its
    /// failures' codes, its sources' kind) for the run's errors and events.
    public mutating func register(_ descriptor: BackendDescriptor, fetcher: any Fetcher) {
        for scheme in descriptor.schemes {
            fetchers[scheme] = fetcher
            descriptors[scheme] = descriptor
        }
        ExitCodeTable.declare(descriptor.failures, forSchemes: descriptor.schemes)
        if let kind = descriptor.sourceKind { SourceKind.declare(kind, forSchemes: descriptor.schemes) }
    }

    /// What the backend registered for `scheme` declared; nil for a fetcher registered without a
    /// descriptor or a helper executable.
    public func descriptor(forScheme scheme: String) -> BackendDescriptor? { descriptors[scheme.lowercased()] }

    /// Registers where fetchers for schemes nothing registered come from (helper executables, found
    /// by scheme when asked); `missing` says what was looked for when `fallback` has none.
    public mutating func register(fallback: @escaping @Sendable (String) -> (any Fetcher)?,
                                  missing: @escaping @Sendable (String) -> String) {
        self.fallback = fallback
        self.missing = missing
    }

    /// Registers `unpacker` for each of `formats`.
    public mutating func register(unpacker: any Unpacker, for formats: [ArchiveFormat]) {
        for format in formats { unpackers[format] = unpacker }
    }

    /// The resolver named `name`; throws a usage error naming the registered ones.
    public func resolver(named name: String) throws -> any Resolver {
        guard let resolver = resolvers[name.lowercased()] else {
            throw PkgfetchError(.usage, "no resolver named '\(name)' (registered: \(resolverNames.joined(separator: ", ")))")
        }
        return resolver
    }

    /// The fetcher for `scheme`; throws `no-source` naming the registered ones.
    public func fetcher(forScheme scheme: String) throws -> any Fetcher {
        guard let fetcher = fetchers[scheme.lowercased()] ?? fallback?(scheme.lowercased()) else {
            throw PkgfetchError(.noSource, missing?(scheme) ?? "no fetcher registered for scheme '\(scheme)' (registered: \(fetcherSchemes.joined(separator: ", ")))")
        }
        return fetcher
    }

    /// The unpacker for `format`; throws `unpack-failed` naming the registered ones.
    public func unpacker(for format: ArchiveFormat) throws -> any Unpacker {
        guard let unpacker = unpackers[format] else {
            throw PkgfetchError(.unpackFailed, "no unpacker registered for format '\(format)' (registered: \(unpackerFormats.map(\.name).joined(separator: ", "))); --no-unpack places the file as it is")
        }
        return unpacker
    }

    /// Whether a fetcher is registered for `scheme`.
    public func handles(scheme: String) -> Bool { fetchers[scheme.lowercased()] != nil || fallback?(scheme.lowercased()) != nil }

    /// Why no fetcher handles `scheme` (what was looked for), for an error message.
    public func whyNoFetcher(forScheme scheme: String) -> String {
        missing?(scheme) ?? "no fetcher registered for scheme '\(scheme)'"
    }

    /// The registered resolver names, sorted.
    public var resolverNames: [String] { resolvers.keys.sorted() }
    /// The registered schemes, sorted.
    public var fetcherSchemes: [String] { fetchers.keys.sorted() }
    /// The registered formats, sorted by name.
    public var unpackerFormats: [ArchiveFormat] { unpackers.keys.sorted { $0.name < $1.name } }

    /// Type names, for `pkgfetch plugins`.
    public func describe() -> (resolvers: [(String, String)], fetchers: [(String, String)], unpackers: [(String, String)]) {
        (resolvers.sorted { $0.key < $1.key }.map { ($0.key, String(describing: type(of: $0.value))) },
         fetchers.sorted { $0.key < $1.key }.map { ($0.key, String(describing: type(of: $0.value))) },
         unpackers.sorted { $0.key.name < $1.key.name }.map { ($0.key.name, String(describing: type(of: $0.value))) })
    }
}
