#if canImport(Glibc)
import Glibc
#endif

/// A small pthread mutex for state shared between the host's threads (supervisor, broker, dispatcher).
///
/// `withLock` is inlinable so each caller gets it specialised: a generic call across modules would look up the
/// result type's metadata at run time on every use, which showed up as the top cost of a gateway call.
public final class Mutex: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    public init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    @inlinable
    public func withLock<R>(_ body: () throws -> R) rethrows -> R {
        acquire()
        defer { release() }
        return try body()
    }

    @usableFromInline func acquire() { pthread_mutex_lock(&mutex) }
    @usableFromInline func release() { pthread_mutex_unlock(&mutex) }
}
