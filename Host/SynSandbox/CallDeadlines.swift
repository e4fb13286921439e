#if canImport(Glibc)
import Glibc
#endif

/// One thread that fires the deadlines of calls in flight (the gateway's `request_timeout_ms`), instead of a
/// timer per call. It sleeps until the earliest deadline, or a second when there is none, and is woken only when
/// a new deadline comes before its planned wake-up, so a steady stream of calls costs no extra wake-ups.
public final class CallDeadlines: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var pending: [UInt64: (deadlineNs: UInt64, fire: @Sendable () -> Void)] = [:]
    private var nextID: UInt64 = 0
    private var plannedWakeNs: UInt64 = 0
    private var started = false

    public init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&wake, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Runs `fire` once `ms` have passed, unless `cancel` comes first. Returns the id to cancel with.
    public func add(afterMs ms: Int, _ fire: @escaping @Sendable () -> Void) -> UInt64 {
        let deadline = Self.nowNs() + UInt64(max(ms, 0)) * 1_000_000
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if !started {
            started = true
            OSThread.start(name: "syn-deadlines") { [self] in run() }
        }
        nextID += 1
        pending[nextID] = (deadline, fire)
        if deadline < plannedWakeNs { pthread_cond_signal(&wake) }
        return nextID
    }

    public func cancel(_ id: UInt64) {
        pthread_mutex_lock(&mutex)
        pending[id] = nil
        pthread_mutex_unlock(&mutex)
    }

    private func run() {
        pthread_mutex_lock(&mutex)
        while true {
            let now = Self.nowNs()
            let due = pending.filter { $0.value.deadlineNs <= now }
            if !due.isEmpty {
                for id in due.keys { pending[id] = nil }
                pthread_mutex_unlock(&mutex)
                for entry in due.values { entry.fire() }
                pthread_mutex_lock(&mutex)
                continue
            }
            plannedWakeNs = pending.values.map(\.deadlineNs).min() ?? now + 1_000_000_000
            var ts = timespec(tv_sec: Int(plannedWakeNs / 1_000_000_000), tv_nsec: Int(plannedWakeNs % 1_000_000_000))
            _ = pthread_cond_timedwait(&wake, &mutex, &ts)
        }
    }
}
