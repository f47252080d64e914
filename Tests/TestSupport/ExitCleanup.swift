import Foundation

/// Work done when the test process exits normally: servers shared by many tests live until then,
/// since nothing else would stop them (a global never deinitialises).
public enum ExitCleanup {
    private static let actions = ThreadSafeBox<[@Sendable () -> Void]>([])
    private static let installed: Void = { atexit { ExitCleanup.runAll() } }()

    public static func register(_ action: @escaping @Sendable () -> Void) {
        _ = installed
        actions.mutate { $0.append(action) }
    }

    static func runAll() {
        let pending = actions.mutate { list -> [@Sendable () -> Void] in
            defer { list = [] }
            return list
        }
        for action in pending.reversed() { action() }
    }
}
