/// How one backend's failures are numbered and named: the row of the exit-code table its codes come
/// from, and the names `error[…]` and events print for the failures that are its own (not found,
/// refused credentials, the source failing). Declared in its `BackendDescriptor`.
///
/// A backend that declares only its name gets a download's codes under that name:
/// `teamstore-not-found` (21), `teamstore-unauthorized` (20), `teamstore-unavailable` (20). A helper
/// executable's family is named after its scheme (`blob-not-found`).
public struct FailureFamily: Sendable, Hashable {
    /// The row of exit codes the backend's failures take.
    public var codes: ExitCodeTable.Family
    /// The name of a failure because the source holds nothing there.
    public var notFound: String
    /// The name of a refusal of the credentials offered.
    public var unauthorized: String
    /// The name of any other failure of the source or the way to it, transient or not.
    public var unavailable: String

    /// `<name>-not-found`, `<name>-unauthorized`, `<name>-unavailable`, with the codes of `codes`.
    public init(_ name: String, codes: ExitCodeTable.Family = .download) {
        self.init(codes: codes, notFound: "\(name)-not-found", unauthorized: "\(name)-unauthorized", unavailable: "\(name)-unavailable")
    }

    /// Names chosen one by one (the built-in backends keep the names scripts already match).
    public init(codes: ExitCodeTable.Family, notFound: String, unauthorized: String, unavailable: String) {
        self.codes = codes
        self.notFound = notFound
        self.unauthorized = unauthorized
        self.unavailable = unavailable
    }

    /// The exit code of a failure with `reason`.
    public func kind(for reason: FailureReason) -> ErrorKind { ExitCodeTable.kind(for: reason, codes: codes) }

    /// The printed name of a failure with `reason`: the family's own for the reasons that depend on the
    /// backend, the exit code's name for the rest (`network-timeout`, `integrity-mismatch`, …).
    public func name(for reason: FailureReason) -> String {
        switch reason {
        case .notFound: notFound
        case .unauthorized: unauthorized
        case .unavailable, .rejected: unavailable
        default: kind(for: reason).name
        }
    }
}
