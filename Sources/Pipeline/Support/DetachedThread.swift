import CSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts threads of pkgfetch's own (a transfer, a block writer, a blocking-I/O worker) straight on
/// pthreads: Foundation's `Thread` would link all of Foundation and its ICU data into the binary.
package enum DetachedThread {
    /// Runs `body` on a new detached thread with a stack of `stackSize` bytes (nil: the system's
    /// default) and, if given, a kernel name (the kernel keeps its first 15 bytes).
    package static func start(name: String? = nil, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        if let stackSize { pthread_attr_setstacksize(&attributes, stackSize) }
        let start = Start(name: name, body: body)
        let context = Unmanaged.passRetained(start).toOpaque()
        var thread = pthread_t()
        let failed = pthread_create(&thread, &attributes, { context in
            let start = Unmanaged<Start>.fromOpaque(context!).takeRetainedValue()
            if let name = start.name { csystem_set_thread_name(name) }
            start.body()
            return nil
        }, context)
        if failed != 0 {
            Unmanaged<Start>.fromOpaque(context).release()
            fatalError("pthread_create: \(String(cString: strerror(failed)))")
        }
    }

    private final class Start {
        let name: String?
        let body: @Sendable () -> Void
        init(name: String?, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
