#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A lock with a condition variable to wait on while it is held, shaped like Foundation's
/// `NSCondition` (which would link all of Foundation and its ICU data into the binary).
package final class Condition: @unchecked Sendable {
    /// The lock waits release; `Lock`'s own pthread mutex.
    private let guarded = Lock()
    private let variable = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        variable.initialize(to: pthread_cond_t())
        pthread_cond_init(variable, nil)
    }

    deinit {
        pthread_cond_destroy(variable)
        variable.deallocate()
    }

    package func lock() { guarded.lock() }

    package func unlock() { guarded.unlock() }

    package func withLock<T>(_ body: () throws -> T) rethrows -> T { try guarded.withLock(body) }

    /// Releases the lock until signalled, then takes it again. Called with the lock held.
    package func wait() { pthread_cond_wait(variable, guarded.mutex) }

    /// `wait()`, giving up at `limit` (wall clock, as `NSCondition`'s); false when it gave up.
    package func wait(until limit: Date) -> Bool {
        let seconds = max(0, limit.timeIntervalSince1970)
        var time = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        return pthread_cond_timedwait(variable, guarded.mutex, &time) == 0
    }

    package func signal() { pthread_cond_signal(variable) }

    package func broadcast() { pthread_cond_broadcast(variable) }
}
