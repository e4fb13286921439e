import SynSodium
import Synchronization

/// Remembers each signed app call (its key and nonce) until it could no longer be accepted, so a replay within
/// the window is refused. Bounded: at most `capacity` calls in all, `perApp` of them brought by one calling app,
/// so no app can fill it for the others; past a bound the newest call is refused (fail closed), never an old one
/// forgotten early.
final class CallReplayGuard: Sendable {
    let capacity: Int
    let perApp: Int
    private let state = Mutex(State())

    private struct State {
        /// sha256(key ‖ nonce) → (expiry in Unix seconds, the app that brought it).
        var seen: [[UInt8]: (expiry: Int64, app: String)] = [:]
        var perApp: [String: Int] = [:]
        var nextPurge: Int64 = 0
    }

    init(capacity: Int = 100_000, perApp: Int = 25_000) {
        self.capacity = capacity
        self.perApp = perApp
    }

    /// Records the call; nil if it is new, else why it is refused.
    func admit(key: [UInt8], nonce: String, expiry: Int64, app: String, nowSeconds: Int64) -> String? {
        let fingerprint = Hash.sha256(key + Array(nonce.utf8))
        return state.withLock { st in
            if nowSeconds >= st.nextPurge || st.seen.count >= capacity {
                for (k, v) in st.seen where v.expiry <= nowSeconds {
                    st.seen.removeValue(forKey: k)
                    st.perApp[v.app, default: 1] -= 1
                }
                st.perApp = st.perApp.filter { $0.value > 0 }
                st.nextPurge = nowSeconds + 10
            }
            if let earlier = st.seen[fingerprint], earlier.expiry > nowSeconds {
                return "this signed call (key and nonce) was already used: a person's signature acts once"
            }
            guard st.seen.count < capacity else { return "the node holds \(capacity) recent signed calls; try again in a few minutes" }
            guard st.perApp[app, default: 0] < perApp else {
                return "app '\(app)' brought \(perApp) signed calls in the last few minutes; try again later"
            }
            st.seen[fingerprint] = (expiry, app)
            st.perApp[app, default: 0] += 1
            return nil
        }
    }
}
