/// Turns a request into a plan: the package's identity and the ordered sources to try.
/// Throws `resolve-failed` when the request names nothing this resolver knows how to find.
public protocol Resolver: Sendable {
    /// The plan for `request`.
    func resolve(_ request: PackageRequest) throws -> Plan
}
