#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value each thread holds for itself, in a pthread key (what Foundation's
/// `Thread.current.threadDictionary` gave, without linking Foundation). Instances live as long as the process.
package final class ThreadLocal<Value>: @unchecked Sendable {
    private final class Box {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    private var key = pthread_key_t()

    package init() {
        pthread_key_create(&key) { box in
            if let box { Unmanaged<AnyObject>.fromOpaque(box).release() }
        }
    }

    /// The calling thread's value; nil until it sets one.
    package var value: Value? {
        get { pthread_getspecific(key).map { Unmanaged<Box>.fromOpaque($0).takeUnretainedValue().value } }
        set {
            let old = pthread_getspecific(key)
            pthread_setspecific(key, newValue.map { Unmanaged.passRetained(Box($0)).toOpaque() })
            if let old { Unmanaged<Box>.fromOpaque(old).release() }
        }
    }
}
