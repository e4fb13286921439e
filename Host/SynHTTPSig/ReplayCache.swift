import Synchronization

/// Remembers nonces and (keyid, signature) pairs until their signature could no longer be accepted, so a replay
/// within the window is refused.
///
/// Bounded: at most `capacity` entries (each 16-byte fingerprint plus an expiry, about 64 bytes with overhead).
/// Entries expire by time (`created + window`). When full after dropping expired entries, new requests are
/// refused with `.cacheFull` rather than forgetting earlier ones, so a flood can deny service but never re-open
/// a replay. Thread-safe: all state sits behind one `Mutex`; a single instance is shared by all verifiers of a
/// node.
public final class ReplayCache: Sendable {
    /// Maximum entries held.
    public let capacity: Int
    private let state: Mutex<State>

    private struct State {
        var expiries: [ReplayKey: Int64] = [:]
        var heap = ExpiryHeap()

        /// Drops entries whose expiry is before `now`.
        mutating func purge(now: Int64) {
            while let top = heap.minimum, top.expiry < now {
                _ = heap.popMinimum()
                if expiries[top.key] == top.expiry { expiries[top.key] = nil }
            }
        }
    }

    /// A cache of at most `capacity` entries (at least 1); a request with a nonce uses two.
    public init(capacity: Int = 100_000) {
        self.capacity = max(1, capacity)
        self.state = Mutex(State())
    }

    /// Entries currently held (including any not yet purged).
    public var count: Int { state.withLock { $0.expiries.count } }

    /// Refuses (`.replay`) if any of `keys` is remembered and unexpired at `now`, or (`.cacheFull`) if there is no
    /// room for them. Changes nothing else: a cheap check before the signature is verified.
    func probe(_ keys: [ReplayKey], now: Int64) throws(SignatureError) {
        let failure: SignatureError? = state.withLock { state in
            state.purge(now: now)
            return Self.refusal(state, keys, capacity: capacity)
        }
        if let failure { throw failure }
    }

    /// Atomically checks `keys` as `probe` does and remembers them until `expiry`.
    func insert(_ keys: [ReplayKey], expiry: Int64, now: Int64) throws(SignatureError) {
        let failure: SignatureError? = state.withLock { state in
            state.purge(now: now)
            if let refusal = Self.refusal(state, keys, capacity: capacity) { return refusal }
            for key in keys {
                state.expiries[key] = expiry
                state.heap.push(expiry: expiry, key: key)
            }
            return nil
        }
        if let failure { throw failure }
    }

    private static func refusal(_ state: State, _ keys: [ReplayKey], capacity: Int) -> SignatureError? {
        for key in keys where state.expiries[key] != nil {
            let what = key.kind == 1 ? "nonce" : "signature"
            return SignatureError(.replay, "this \(what) was already used by this keyid within the window; sign "
                + "the request again with a fresh created time and nonce")
        }
        if state.expiries.count + keys.count > capacity {
            return SignatureError(.cacheFull, "replay cache is full (\(capacity) entries); retry shortly")
        }
        return nil
    }
}
