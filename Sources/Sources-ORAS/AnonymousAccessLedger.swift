/// What anonymous access to each registry came to, for credential stores that try it first (a
/// managed identity, whose login costs IMDS and an exchange): found out once per registry and
/// process. When several pulls start at once, the first finds out and the others wait for its
/// answer, so a batch asks once.
public actor AnonymousAccessLedger {
    public enum Verdict: Sendable, Equatable {
        /// The realm gave an anonymous token and the registry took it.
        case allowed
        /// The realm refused an anonymous token, or the registry refused one (401/403).
        case refused
    }

    private enum State {
        case probing(waiting: [CheckedContinuation<Verdict?, Never>])
        case known(Verdict)
    }

    private var hosts: [String: State] = [:]

    public init() {}

    /// The verdict for `host`, waiting while another pull finds it out. Nil: unknown, and the caller
    /// is now the one to find out; it must `settle` the host whatever happens.
    public func verdict(for host: String) async -> Verdict? {
        let host = host.lowercased()
        switch hosts[host] {
        case .known(let verdict):
            return verdict
        case .probing:
            return await withCheckedContinuation { continuation in
                if case .probing(var waiting) = hosts[host] {
                    waiting.append(continuation)
                    hosts[host] = .probing(waiting: waiting)
                } else {
                    continuation.resume(returning: nil)
                }
            }
        case nil:
            hosts[host] = .probing(waiting: [])
            return nil
        }
    }

    /// Records what was found out for `host`. Nil — the probe ended before it knew (a network
    /// failure, the deadline) — hands the question to one waiting pull, or leaves it open.
    public func settle(_ host: String, _ verdict: Verdict?) {
        let host = host.lowercased()
        guard case .probing(var waiting) = hosts[host] else {
            if let verdict { hosts[host] = .known(verdict) }
            return
        }
        if let verdict {
            hosts[host] = .known(verdict)
            for pull in waiting { pull.resume(returning: verdict) }
        } else if waiting.isEmpty {
            hosts[host] = nil
        } else {
            let next = waiting.removeFirst()
            hosts[host] = .probing(waiting: waiting)
            next.resume(returning: nil)
        }
    }
}
