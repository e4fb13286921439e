import Dispatch
import Synchronization
import SynSystem

/// How many of an app's log lines the node writes: a token bucket of `perSecond` lines a second, holding at most
/// twice that. Lines past it are dropped and counted; the next line let through reports how many went.
final class LogBudget: Sendable {
    private struct State {
        var tokens: Double
        var lastNs: Int64
        var dropped = 0
        var droppedTotal = 0
    }

    let perSecond: Int
    private let state: Mutex<State>

    init(perSecond: Int) {
        self.perSecond = max(perSecond, 1)
        state = Mutex(State(tokens: Double(max(perSecond, 1) * 2), lastNs: MonotonicClock.nowNs()))
    }

    /// Whether to write this line, and how many were dropped since the last one written (0 if none).
    func admit() -> (write: Bool, droppedBefore: Int) {
        let now = MonotonicClock.nowNs()
        return state.withLock { s in
            let burst = Double(perSecond * 2)
            s.tokens = min(burst, s.tokens + Double(now &- s.lastNs) / 1e9 * Double(perSecond))
            s.lastNs = now
            guard s.tokens >= 1 else {
                s.dropped += 1
                s.droppedTotal += 1
                return (false, 0)
            }
            s.tokens -= 1
            defer { s.dropped = 0 }
            return (true, s.dropped)
        }
    }

    /// Every line dropped so far.
    var droppedTotal: Int { state.withLock { $0.droppedTotal } }
}
