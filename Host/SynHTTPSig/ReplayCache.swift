import SynSodium
import Synchronization

/// Who a replay entry is charged to: the node's owners (never limited, so an owner always gets through), or a
/// client, named by its address (an IPv6 client by its /64).
public enum ReplaySource: Sendable, Hashable {
    case owner
    case client(String)
}

/// Remembers nonces and (keyid, signature) pairs until their signature could no longer be accepted, so a replay
/// within the window is refused.
///
/// Bounded so that no client, key or set of keys locks anyone else out:
/// - each client may hold at most `perClient` entries; past that only its own requests are refused
///   (`.clientBudget`);
/// - clients together hold at most `capacity` entries (each a 16-byte keyed fingerprint plus an expiry, about
///   80 bytes with overhead); when many clients fill it, the entries closest to expiry are given up first;
/// - owners' entries count against neither, so owner requests always get through.
///
/// Giving up an unexpired entry re-opens a replay of that one request until it expires. It takes a full cache, that
/// is `capacity / perClient` clients flooding at once, and a copy of the request; the verifier also refuses any
/// `created` more than a few seconds ahead, so entries never outlive the window by much. Thread-safe: all state
/// sits behind one `Mutex`; a single instance is shared by all verifiers of a node.
public final class ReplayCache: Sendable {
    /// Maximum entries held for clients.
    public let capacity: Int
    /// Maximum entries held for one client.
    public let perClient: Int
    private let state: Mutex<State>
    /// Random key of this cache's fingerprints (see `ReplayKey`).
    private let secret: ReplaySecret

    private struct Entry {
        var expiry: Int64
        var source: ReplaySource
    }

    private struct State {
        var entries: [ReplayKey: Entry] = [:]
        /// Clients' entries and owners' entries, each by expiry.
        var clientHeap = ExpiryHeap()
        var ownerHeap = ExpiryHeap()
        var clientCount = 0
        var perClient: [String: Int] = [:]
        /// Unexpired entries given up to make room.
        var evicted = 0

        /// Forgets `key` if it is still the entry that expires at `expiry` (a heap may hold stale items).
        mutating func remove(_ key: ReplayKey, expiry: Int64) -> Bool {
            guard let entry = entries[key], entry.expiry == expiry else { return false }
            entries[key] = nil
            if case .client(let client) = entry.source {
                clientCount -= 1
                let left = (perClient[client] ?? 1) - 1
                perClient[client] = left > 0 ? left : nil
            }
            return true
        }

        /// Drops entries whose expiry is before `now`.
        mutating func purge(now: Int64) {
            while let top = clientHeap.minimum, top.expiry < now {
                _ = clientHeap.popMinimum()
                _ = remove(top.key, expiry: top.expiry)
            }
            while let top = ownerHeap.minimum, top.expiry < now {
                _ = ownerHeap.popMinimum()
                _ = remove(top.key, expiry: top.expiry)
            }
        }

        /// Gives up the client entry closest to expiry; false when there is none.
        mutating func evictOne() -> Bool {
            while let top = clientHeap.popMinimum() {
                if remove(top.key, expiry: top.expiry) {
                    evicted += 1
                    return true
                }
            }
            return false
        }

        /// Why `keys` may not be remembered for `source` (a replay, or the client's budget), or nil.
        func refusal(_ keys: ReplayKeys, source: ReplaySource, perClientLimit: Int) -> SignatureError? {
            if let nonce = keys.nonce, entries[nonce] != nil { return ReplayCache.replay("nonce") }
            if entries[keys.signature] != nil { return ReplayCache.replay("signature") }
            if case .client(let client) = source, (perClient[client] ?? 0) + keys.count > perClientLimit {
                return SignatureError(.clientBudget, "this client already has \(perClientLimit) signed requests in the "
                    + "node's replay window; retry in a few seconds, or send fewer signed requests at once")
            }
            return nil
        }

        /// Remembers `keys` until `expiry` for `source`, making room if it must; nil when done, else why not.
        mutating func insert(_ keys: ReplayKeys, expiry: Int64, source: ReplaySource, capacity: Int,
                             perClientLimit: Int) -> SignatureError? {
            if let refused = refusal(keys, source: source, perClientLimit: perClientLimit) { return refused }
            if case .client(let client) = source {
                while clientCount + keys.count > capacity {
                    guard evictOne() else {
                        return SignatureError(.cacheFull, "replay cache is full (\(capacity) entries); retry shortly")
                    }
                }
                clientCount += keys.count
                perClient[client, default: 0] += keys.count
            }
            for key in [keys.nonce, keys.signature].compactMap({ $0 }) {
                entries[key] = Entry(expiry: expiry, source: source)
                if source == .owner { ownerHeap.push(expiry: expiry, key: key) } else { clientHeap.push(expiry: expiry, key: key) }
            }
            return nil
        }
    }

    /// A cache of at most `capacity` client entries (at least 2), at most `perClient` of them for one client
    /// (default: 1% of the capacity, at least 64). A request with a nonce uses two.
    public init(capacity: Int = 100_000, perClient: Int? = nil) {
        self.capacity = max(2, capacity)
        self.perClient = min(max(2, perClient ?? max(64, capacity / 100)), max(2, capacity))
        self.state = Mutex(State())
        self.secret = ReplaySecret.random(from: SecureRandom.bytes(16))
    }

    /// Entries currently held (including any not yet purged).
    public var count: Int { state.withLock { $0.entries.count } }

    /// Unexpired client entries given up so far to make room for others.
    public var evicted: Int { state.withLock { $0.evicted } }

    /// The fingerprints of a request's nonce (if any) and signature under `keyID`.
    func keys(keyID: String, nonce: String?, signature: [UInt8]) -> ReplayKeys {
        ReplayKeys(nonce: nonce.map { ReplayKey.nonce(keyID: keyID, nonce: $0, secret: secret) },
                   signature: ReplayKey.signature(keyID: keyID, signature: signature, secret: secret))
    }

    /// Refuses (`.replay`) if any of `keys` is remembered and unexpired at `now`, or (`.clientBudget`) if the
    /// client holds its share. Changes nothing else: a cheap check before the signature is verified.
    func probe(_ keys: ReplayKeys, now: Int64, source: ReplaySource) throws(SignatureError) {
        let failure: SignatureError? = state.withLock { state in
            state.purge(now: now)
            return state.refusal(keys, source: source, perClientLimit: perClient)
        }
        if let failure { throw failure }
    }

    /// Atomically checks `keys` as `probe` does and remembers them until `expiry`.
    func insert(_ keys: ReplayKeys, expiry: Int64, now: Int64, source: ReplaySource) throws(SignatureError) {
        let failure: SignatureError? = state.withLock { state in
            state.purge(now: now)
            return state.insert(keys, expiry: expiry, source: source, capacity: capacity, perClientLimit: perClient)
        }
        if let failure { throw failure }
    }

    fileprivate static func replay(_ what: String) -> SignatureError {
        SignatureError(.replay, "this \(what) was already used by this keyid within the window; sign "
            + "the request again with a fresh created time and nonce")
    }
}
