#if canImport(Glibc)
import Glibc
#endif

/// State behind a lock with a condition to wait on, for threads that sleep until the state changes or a time
/// passes (Swift's `Synchronization.Mutex` has no condition). The state is reachable only inside the lock.
///
/// The pthread objects live in memory of their own, never inside the class's stored properties: a pthread
/// mutex must not move, and Swift does not promise a stored property a stable address. The condition waits on
/// CLOCK_MONOTONIC, so setting the wall clock neither cuts a wait short nor stretches it.
public final class Monitor<State>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var state: State

    public init(_ initial: State) {
        state = initial
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the state, under the lock.
    public func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Changes the state under the lock and wakes every waiter.
    public func update(_ body: (inout State) -> Void) {
        pthread_mutex_lock(mutex)
        body(&state)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until `ready` holds (it may change the state, e.g. to consume a signal) or `MonotonicClock` reaches
    /// `deadlineNs`. Returns whether `ready` held.
    @discardableResult
    public func wait(untilMonotonicNs deadlineNs: Int64, for ready: (inout State) -> Bool) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let deadline = max(deadlineNs, 0)
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while !ready(&state) {
            if pthread_cond_timedwait(condition, mutex, &ts) == ETIMEDOUT { return ready(&state) }
        }
        return true
    }
}
