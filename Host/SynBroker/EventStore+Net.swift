import SynSQLite
import Synchronization


/// The node's side of `net_send`: messages an app's calls committed for a peer node wait in `node.db` until that
/// peer acknowledges them. Each (peer, app) pair has its own sequence, from 1, kept in `net_sequences` so that it
/// never goes back when acknowledged rows are deleted; the peer applies a sequence number once (it records the last
/// one in the app's own database), so a message sent again after a crash or a cut link is dropped there.
extension EventStore {
    static let netSchema = """
        CREATE TABLE IF NOT EXISTS net_outbox (id INTEGER PRIMARY KEY, peer TEXT NOT NULL, app TEXT NOT NULL,
            seq INTEGER NOT NULL, time_ns INTEGER NOT NULL, caller TEXT NOT NULL, payload BLOB NOT NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS net_outbox_stream ON net_outbox(peer, app, seq);
        CREATE TABLE IF NOT EXISTS net_sequences (peer TEXT NOT NULL, app TEXT NOT NULL, last_seq INTEGER NOT NULL,
            PRIMARY KEY (peer, app)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS net_redirects (peer TEXT NOT NULL, app TEXT NOT NULL, moved_to TEXT NOT NULL,
            PRIMARY KEY (peer, app)) WITHOUT ROWID;
        """

    /// Redirects kept at most (each comes from a peer's `appMoved`, for one of its apps).
    static let maxRedirects = 10_000

    static func loadRedirects(_ db: Database) throws(SQLiteError) -> [String: String] {
        var out: [String: String] = [:]
        for r in try db.query("SELECT peer, app, moved_to FROM net_redirects") {
            if case .text(let peer) = r[0], case .text(let app) = r[1], case .text(let to) = r[2] { out[peer + "\n" + app] = to }
        }
        return out
    }

    /// A message's share of its app's outbox quota besides its payload.
    static let netRowBytes = 96

    /// One message waiting for its peer's acknowledgement.
    public struct NetMessage: Sendable, Equatable {
        public let app: String
        public let seq: UInt64
        public let payload: [UInt8]
    }

    /// The apps with messages waiting for `peer`.
    public func netApps(peer: String) -> [String] {
        state.withLock { st in
            let rows = (try? st.db.cachedQuery("SELECT DISTINCT app FROM net_outbox WHERE peer = ?", [.text(peer)])) ?? []
            return rows.compactMap { r in if case .text(let app) = r[0] { app } else { nil } }
        }
    }

    /// `app`'s messages for `peer` after `seq`, in order, at most `limit` of them and `maxBytes` of payload (at
    /// least one).
    public func netPending(peer: String, app: String, after seq: UInt64, limit: Int, maxBytes: Int) -> [NetMessage] {
        state.withLock { st in
            let rows = (try? st.db.cachedQuery("""
                SELECT seq, payload FROM net_outbox WHERE peer = ? AND app = ? AND seq > ? ORDER BY seq LIMIT ?
                """, [.text(peer), .text(app), .integer(Int64(bitPattern: seq)), .integer(Int64(limit))])) ?? []
            var out: [NetMessage] = []
            var bytes = 0
            for r in rows {
                guard case .integer(let s) = r[0], case .blob(let payload) = r[1] else { continue }
                if !out.isEmpty && bytes + payload.count > maxBytes { break }
                bytes += payload.count
                out.append(NetMessage(app: app, seq: UInt64(bitPattern: s), payload: payload))
            }
            return out
        }
    }

    /// `peer` has applied `app`'s messages up to `seq`: they are deleted. Returns how many were.
    @discardableResult
    public func netAcknowledged(peer: String, app: String, through seq: UInt64) -> Int {
        state.withLock { st in
            guard let rows = try? st.db.cachedQuery("""
                DELETE FROM net_outbox WHERE peer = ? AND app = ? AND seq <= ? RETURNING length(payload)
                """, [.text(peer), .text(app), .integer(Int64(bitPattern: min(seq, UInt64(Int64.max))))]) else { return 0 }
            var freed: Int64 = 0
            for r in rows { if case .integer(let n) = r[0] { freed += n + Int64(Self.netRowBytes) } }
            if freed > 0 { st.usage[app, default: Usage()].net -= freed }
            return rows.count
        }
    }

    /// Messages waiting for `peer`, of every app.
    public func netWaiting(peer: String) -> Int {
        state.withLock { st in
            guard case .integer(let n)? = try? st.db.cachedQuery("SELECT count(*) FROM net_outbox WHERE peer = ?", [.text(peer)]).first?.first
            else { return 0 }
            return Int(n)
        }
    }
}

extension EventStore.State {
    /// Inside `applyOutbox`'s transaction: appends a message for `peer` with the next sequence number of (peer, app).
    /// Returns the node the message waits for.
    @discardableResult
    func enqueueNet(peer original: String, app: String, caller: String, payload: [UInt8], nowNs: Int64) throws(SQLiteError) -> String {
        // An app that moved from the peer gets its messages where it went.
        let peer = redirects[original + "\n" + app] ?? original
        let next = try db.cachedQuery("""
            INSERT INTO net_sequences(peer, app, last_seq) VALUES (?, ?, 1)
            ON CONFLICT(peer, app) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq
            """, [.text(peer), .text(app)])
        guard case .integer(let seq)? = next.first?.first else {
            throw SQLiteError(extendedCode: 1, message: "no sequence number for a message to \(peer)")
        }
        _ = try db.cachedExecute("INSERT INTO net_outbox(peer, app, seq, time_ns, caller, payload) VALUES (?, ?, ?, ?, ?, ?)",
                                 [.text(peer), .text(app), .integer(seq), .integer(nowNs), .text(caller), .blob(payload)])
        return peer
    }
}
