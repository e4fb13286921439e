/// A rate with bursts: `perSecond` tokens a second up to `burst`, one spent per action (or `count`). Kept in the
/// broker's state per app (`msg_publish`, client notices, `app_call`).
struct TokenBucket {
    private var tokens: Double
    private var atNs: Int64

    /// A full bucket at `nowNs`.
    init(burst: Double, nowNs: Int64) {
        tokens = burst
        atNs = nowNs
    }

    /// Spends a token if there is one (after refilling for the time since the last call).
    mutating func take(_ count: Double = 1, perSecond: Double, burst: Double, nowNs: Int64) -> Bool {
        tokens = min(burst, tokens + Double(nowNs - atNs) / 1e9 * perSecond)
        atNs = nowNs
        guard tokens >= count else { return false }
        tokens -= count
        return true
    }
}
