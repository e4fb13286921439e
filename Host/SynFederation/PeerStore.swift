public import SynSQLite
import Synchronization

/// The peers a node owner added, in `node.db`: each one's address and name. The node dials each of them and
/// accepts links from them.
public final class PeerStore: Sendable {
    public struct Peer: Sendable, Equatable {
        public let address: PeerAddress
        public let name: String
    }

    private let db: LazyDatabase
    /// The peers' node ids, kept in memory: links and `net_send` ask for every connection and message.
    private let ids: Mutex<Set<String>>

    public init(path: String) throws(FederationError) {
        do {
            var known: Set<String> = []
            db = try LazyDatabase(path: path) { db throws(SQLiteError) in
                try db.execute("""
                    CREATE TABLE IF NOT EXISTS peers (node TEXT PRIMARY KEY, host TEXT NOT NULL, port INTEGER NOT NULL,
                        name TEXT NOT NULL, added_ns INTEGER NOT NULL);
                    """)
                for row in try db.query("SELECT node FROM peers") { if case .text(let id) = row[0] { known.insert(id) } }
            }
            ids = Mutex(known)
        } catch { throw FederationError(.storage, "peers in \(path): \(error)") }
    }

    /// Adds `address` (or changes its address and name); at most `limit` peers.
    public func add(_ address: PeerAddress, name: String, nowNs: Int64, limit: Int = 1000) throws(FederationError) {
        guard name.utf8.count <= 64, !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw FederationError(.badPeer, "a peer's name is at most 64 bytes of text without control characters")
        }
        do {
            try db.withDatabase { db throws(SQLiteError) in
                try db.transaction { () throws(SQLiteError) in
                    let known = try db.query("SELECT count(*) FROM peers WHERE node <> ?", [.text(address.nodeID)])
                    if case .integer(let n)? = known.first?.first, n >= limit {
                        throw SQLiteError(extendedCode: 19, message: "the node already has \(limit) peers")
                    }
                    _ = try db.execute("""
                        INSERT INTO peers(node, host, port, name, added_ns) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT(node) DO UPDATE SET host = excluded.host, port = excluded.port, name = excluded.name
                        """, [.text(address.nodeID), .text(address.host), .integer(Int64(address.port)), .text(name), .integer(nowNs)])
                }
            }
        } catch { throw FederationError(.storage, "cannot add peer \(address.nodeID): \(error.message)") }
        ids.withLock { _ = $0.insert(address.nodeID) }
    }

    /// Removes the peer `nodeID`; false when there was none.
    @discardableResult
    public func remove(_ nodeID: String) throws(FederationError) -> Bool {
        do {
            let removed = try db.withDatabase { db throws(SQLiteError) in
                try db.execute("DELETE FROM peers WHERE node = ?", [.text(nodeID)]) > 0
            }
            ids.withLock { _ = $0.remove(nodeID) }
            return removed
        } catch { throw FederationError(.storage, "cannot remove peer \(nodeID): \(error.message)") }
    }

    /// Every peer, by name then id.
    public func list() -> [Peer] {
        (try? db.withDatabase { db throws(SQLiteError) -> [Peer] in
            let rows = try db.query("SELECT node, host, port, name FROM peers ORDER BY name, node")
            return rows.compactMap { r in
                guard case .text(let id) = r[0], case .text(let host) = r[1], case .integer(let port) = r[2],
                      case .text(let name) = r[3] else { return nil }
                return Peer(address: PeerAddress(nodeID: id, host: host, port: Int(port)), name: name)
            }
        }) ?? []
    }

    public func contains(_ nodeID: String) -> Bool { ids.withLock { $0.contains(nodeID) } }

    /// How many peers there are (from memory: no database read).
    public var count: Int { ids.withLock { $0.count } }

    public func close() { db.close() }
}
