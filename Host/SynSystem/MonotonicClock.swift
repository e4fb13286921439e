#if canImport(Glibc)
import Glibc
#endif

/// Time since an arbitrary point (CLOCK_MONOTONIC): for durations, deadlines and rates. It never jumps when
/// the wall clock is set.
public enum MonotonicClock {
    /// Nanoseconds.
    public static func nowNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Milliseconds.
    public static func nowMs() -> Int64 { nowNs() / 1_000_000 }
}
