import SynSodium
import Synchronization

/// Remembers each signed app call (its key and nonce) until it could no longer be accepted, so a replay within
/// the window is refused. Bounded: at most `capacity` calls in all and `perApp` brought by one calling app, so no
/// app can fill it for the others; past a bound the newest call is refused as a quota (fail closed), never an old
/// one forgotten early. Expired entries are dropped at most every 10 s, in one pass.
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

    enum Refusal: Equatable {
        case replay
        case full(String)
    }

    init(capacity: Int = 50_000, perApp: Int = 2_000) {
        self.capacity = capacity
        self.perApp = perApp
    }

    /// Records the call; nil if it is new.
    func admit(key: [UInt8], nonce: String, expiry: Int64, app: String, nowSeconds: Int64) -> Refusal? {
        let fingerprint = Hash.sha256(key + Array(nonce.utf8))
        return state.withLock { st in
            if nowSeconds >= st.nextPurge {
                st.seen = st.seen.filter { $0.value.expiry > nowSeconds }
                st.perApp = [:]
                for entry in st.seen.values { st.perApp[entry.app, default: 0] += 1 }
                st.nextPurge = nowSeconds + 10
            }
            if let earlier = st.seen[fingerprint], earlier.expiry > nowSeconds { return .replay }
            guard st.seen.count < capacity else {
                return .full("the node holds \(capacity) recent signed calls; try again in a few minutes")
            }
            guard st.perApp[app, default: 0] < perApp else {
                return .full("app '\(app)' brought \(perApp) signed calls in the last \(SignedCall.maxAgeSeconds) s; try again later")
            }
            st.seen[fingerprint] = (expiry, app)
            st.perApp[app, default: 0] += 1
            return nil
        }
    }
}
