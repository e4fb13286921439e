import SynSodium
import Synchronization

/// Remembers nonces and (keyid, signature) pairs until their signature could no longer be accepted, so a replay
/// within the window is refused.
///
/// Bounded: at most `capacity` entries (each a 16-byte keyed fingerprint plus an expiry, about 64 bytes with
/// overhead). Entries expire by time (`created + window`). When full after dropping expired entries, new requests
/// are refused with `.cacheFull` rather than forgetting earlier ones, so a flood can deny service but never re-open
/// a replay. Thread-safe: all state sits behind one `Mutex`; a single instance is shared by all verifiers of a
/// node.
public final class ReplayCache: Sendable {
    /// Maximum entries held.
    public let capacity: Int
    private let state: Mutex<State>
    /// Random key of this cache's fingerprints (see `ReplayKey`).
    private let secret: ReplaySecret

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

        /// Remembers `keys` until `expiry` unless `refusal` would refuse them, returning that refusal: the same
        /// answer and the same end state as checking first and then inserting, with one hash lookup per key on
        /// the usual path (each key is written, and put back only when refused).
        mutating func insert(_ keys: ReplayKeys, expiry: Int64, capacity: Int) -> SignatureError? {
            if let nonce = keys.nonce, let previous = expiries.updateValue(expiry, forKey: nonce) {
                expiries[nonce] = previous
                return ReplayCache.replay("nonce")
            }
            if let previous = expiries.updateValue(expiry, forKey: keys.signature) {
                expiries[keys.signature] = previous
                if let nonce = keys.nonce { expiries[nonce] = nil }
                return ReplayCache.replay("signature")
            }
            if expiries.count > capacity {   // i.e. count before + keys.count > capacity
                if let nonce = keys.nonce { expiries[nonce] = nil }
                expiries[keys.signature] = nil
                return SignatureError(.cacheFull, "replay cache is full (\(capacity) entries); retry shortly")
            }
            if let nonce = keys.nonce { heap.push(expiry: expiry, key: nonce) }
            heap.push(expiry: expiry, key: keys.signature)
            return nil
        }
    }

    /// A cache of at most `capacity` entries (at least 1); a request with a nonce uses two.
    public init(capacity: Int = 100_000) {
        self.capacity = max(1, capacity)
        self.state = Mutex(State())
        self.secret = ReplaySecret.random(from: SecureRandom.bytes(16))
    }

    /// Entries currently held (including any not yet purged).
    public var count: Int { state.withLock { $0.expiries.count } }

    /// The fingerprints of a request's nonce (if any) and signature under `keyID`.
    func keys(keyID: String, nonce: String?, signature: [UInt8]) -> ReplayKeys {
        ReplayKeys(nonce: nonce.map { ReplayKey.nonce(keyID: keyID, nonce: $0, secret: secret) },
                   signature: ReplayKey.signature(keyID: keyID, signature: signature, secret: secret))
    }

    /// Refuses (`.replay`) if any of `keys` is remembered and unexpired at `now`, or (`.cacheFull`) if there is no
    /// room for them. Changes nothing else: a cheap check before the signature is verified.
    func probe(_ keys: ReplayKeys, now: Int64) throws(SignatureError) {
        let failure: SignatureError? = state.withLock { state in
            state.purge(now: now)
            return Self.refusal(state, keys, capacity: capacity)
        }
        if let failure { throw failure }
    }

    /// Atomically checks `keys` as `probe` does and remembers them until `expiry`.
    func insert(_ keys: ReplayKeys, expiry: Int64, now: Int64) throws(SignatureError) {
        let failure: SignatureError? = state.withLock { state in
            state.purge(now: now)
            return state.insert(keys, expiry: expiry, capacity: capacity)
        }
        if let failure { throw failure }
    }

    /// The refusal for `keys`, checked in order: the nonce, the signature, then room.
    private static func refusal(_ state: State, _ keys: ReplayKeys, capacity: Int) -> SignatureError? {
        if let nonce = keys.nonce, state.expiries[nonce] != nil { return replay("nonce") }
        if state.expiries[keys.signature] != nil { return replay("signature") }
        if state.expiries.count + keys.count > capacity {
            return SignatureError(.cacheFull, "replay cache is full (\(capacity) entries); retry shortly")
        }
        return nil
    }

    fileprivate static func replay(_ what: String) -> SignatureError {
        SignatureError(.replay, "this \(what) was already used by this keyid within the window; sign "
            + "the request again with a fresh created time and nonce")
    }
}
