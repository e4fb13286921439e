#if canImport(Glibc)
import Glibc
#endif

/// Time since the Unix epoch (CLOCK_REALTIME): for what is stored or shown (audit entries, timers that survive a
/// restart). It can jump when the clock is set, so durations use `MonotonicClock`.
public enum WallClock {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public static func nowNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
