#if canImport(Glibc)
import Glibc
#endif

/// Lets one request at a time hold an app's database connection; the others wait their turn, up to a limit.
final class Turnstile: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var turn = pthread_cond_t()
    private var current: UInt64?

    init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&turn, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(&turn)
        pthread_mutex_destroy(&mutex)
    }

    /// The request holding the turn, if any.
    var holder: UInt64? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return current
    }

    /// Takes the turn for `id`, waiting at most `timeoutMs` for the holder to leave. False if it did not come.
    func enter(_ id: UInt64, timeoutMs: Int) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let ns = Int(deadline.tv_nsec) + (timeoutMs % 1000) * 1_000_000
        deadline.tv_sec += timeoutMs / 1000 + ns / 1_000_000_000
        deadline.tv_nsec = ns % 1_000_000_000
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while current != nil && current != id {
            if pthread_cond_timedwait(&turn, &mutex, &deadline) == ETIMEDOUT && current != nil && current != id {
                return false
            }
        }
        current = id
        return true
    }

    /// Gives the turn up if `id` holds it.
    func leave(_ id: UInt64) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard current == id else { return }
        current = nil
        pthread_cond_signal(&turn)
    }
}
