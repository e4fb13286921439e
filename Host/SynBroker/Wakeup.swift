#if canImport(Glibc)
import Glibc
#endif

/// A condition a thread can sleep on until signalled or a deadline passes.
final class Wakeup: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var signalled = false

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    func signal() {
        pthread_mutex_lock(&mutex)
        signalled = true
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
    }

    /// Sleeps until signalled or until the wall-clock time `deadlineNs`.
    func wait(untilNs deadlineNs: Int64) {
        pthread_mutex_lock(&mutex)
        var ts = timespec(tv_sec: Int(deadlineNs / 1_000_000_000), tv_nsec: Int(deadlineNs % 1_000_000_000))
        while !signalled {
            if pthread_cond_timedwait(&cond, &mutex, &ts) == ETIMEDOUT { break }
        }
        signalled = false
        pthread_mutex_unlock(&mutex)
    }
}
