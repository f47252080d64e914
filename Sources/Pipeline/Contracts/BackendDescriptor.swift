/// What a backend declares about itself, built-in or a team's: the schemes it serves, what its
/// fetcher can do, the options it takes, and how its failures and sources are named. The command
/// registers every backend from its descriptor alone, as swift-log's `LoggingSystem` takes any
/// `LogHandler`: nothing in pkgfetch names a backend's scheme.
///
/// A backend declares, in one value:
///
/// ```swift
/// BackendDescriptor(name: "teamstore", schemes: ["teamstore"], capabilities: FetcherCapabilities(resumesWithValidator: true),
///                   options: [BackendOption("tenant", help: "Tenant whose objects are read.", environment: "TEAMSTORE_TENANT")])
/// ```
///
/// - `capabilities` is what checks apply to it (`pkgfetch conformance`, `FetcherConformance`): a
///   fetcher that declares no resume is never asked to resume by a check.
/// - `failures` is its failure vocabulary (`FailureFamily`): the row of exit codes its failures take
///   and the names `error[…]` and events print; unless declared, a download's codes under its own
///   name (`teamstore-not-found`, 21).
/// - `sourceKind` is what events call its sources; nil: none of the known kinds.
/// - `options` become flags of the commands that fetch, `--NAME VALUE`, in a help section named after
///   the backend (and in the completions and the man page), each with an environment fallback.
public struct BackendDescriptor: Sendable {
    /// The backend's name: its family name in messages, and the prefix of its options.
    public var name: String
    /// The source schemes its fetcher handles (`https`, `oci`, `teamstore`, …).
    public var schemes: [String]
    /// What its fetcher can do.
    public var capabilities: FetcherCapabilities
    /// How its failures are numbered and named.
    public var failures: FailureFamily
    /// What events call its sources.
    public var sourceKind: SourceKind?
    /// The options it takes.
    public var options: [BackendOption]

    /// A descriptor; a download's codes under its own name, and no source kind, unless given.
    public init(name: String, schemes: [String], capabilities: FetcherCapabilities = .none, failures: FailureFamily? = nil,
                sourceKind: SourceKind? = nil, options: [BackendOption] = []) {
        self.name = name
        self.schemes = schemes.map { $0.lowercased() }
        self.capabilities = capabilities
        self.failures = failures ?? FailureFamily(name)
        self.sourceKind = sourceKind
        self.options = options
    }
}

/// What a fetcher can do, as checks see it.
public struct FetcherCapabilities: Sendable, Hashable {
    /// Opens from a byte offset when given the validator of the bytes already held, and reports a
    /// validator for every stream it opens.
    public var resumesWithValidator: Bool
    /// Serves byte ranges, so a large file can be copied in parallel parts.
    public var servesRanges: Bool
    /// Announces the size (and digest, when it knows it) before the body, truthfully.
    public var announcesSize: Bool

    /// The capabilities given; none unless said.
    public init(resumesWithValidator: Bool = false, servesRanges: Bool = false, announcesSize: Bool = false) {
        self.resumesWithValidator = resumesWithValidator
        self.servesRanges = servesRanges
        self.announcesSize = announcesSize
    }

    /// Every capability: what a check assumes of a fetcher that declared nothing else.
    public static let all = FetcherCapabilities(resumesWithValidator: true, servesRanges: true, announcesSize: true)
    /// No capability.
    public static let none = FetcherCapabilities()
}

/// One option a backend takes, declared once: given on the command line as `--NAME VALUE` (or the
/// generic `--backend-option NAME=VALUE`), else read from `environment`, else `defaultValue`.
public struct BackendOption: Sendable, Hashable {
    /// The option's flag name, lowercase, unique across the command's flags (`teamstore-tenant`).
    public var name: String
    /// One sentence for `--help`, the completions, the man page and `pkgfetch plugins`.
    public var help: String
    /// The environment variable read when the option is not given.
    public var environment: String?
    /// The value when neither is given.
    public var defaultValue: String?

    /// An option.
    public init(_ name: String, help: String, environment: String? = nil, defaultValue: String? = nil) {
        self.name = name
        self.help = help
        self.environment = environment
        self.defaultValue = defaultValue
    }
}
