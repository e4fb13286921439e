import SynSQLite
import SynSodium
import Synchronization

/// The audit heads this node keeps for its peers, as a witness (as Certificate Transparency's witnesses keep
/// logs' tree heads): the latest signed head each peer sent, in `node.db`. A head that goes backwards (a lower
/// sequence than one already kept) or forks (the same sequence with another hash) proves that the peer truncated
/// or rewrote its log after showing it: both heads are kept as evidence, and the newer one stays current.
public final class WitnessStore: Sendable {
    /// What became of a head a peer sent.
    public enum Outcome: Equatable, Sendable {
        /// Kept as the peer's latest.
        case kept
        /// The very head already kept, or evidence already recorded against the one kept.
        case unchanged
        /// Not signed by the peer's key: ignored.
        case badSignature
        /// Lower than the head kept: the peer's log went backwards.
        case rolledBack(kept: AuditHead)
        /// The same sequence as the head kept, another hash: the peer's log forked.
        case forked(kept: AuditHead)
    }

    private let db: LazyDatabase

    public init(path: String) throws(BrokerError) {
        do {
            db = try LazyDatabase(path: path) { db throws(SQLiteError) in try db.execute("""
                CREATE TABLE IF NOT EXISTS witness_heads (node TEXT PRIMARY KEY, head TEXT NOT NULL, seq INTEGER NOT NULL,
                    received_ns INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS witness_evidence (id INTEGER PRIMARY KEY, node TEXT NOT NULL, kind TEXT NOT NULL,
                    kept TEXT NOT NULL, offered TEXT NOT NULL, received_ns INTEGER NOT NULL);
                CREATE UNIQUE INDEX IF NOT EXISTS witness_evidence_once ON witness_evidence(node, kind, kept);
                """) }
        } catch { throw BrokerError(.storage, "witness heads in \(path): \(error)") }
    }

    /// Checks `head` from the peer whose node key is `peerKey` against the one kept, and keeps it if newer.
    public func offer(_ head: AuditHead, from peerKey: [UInt8], nowNs: Int64) throws(BrokerError) -> Outcome {
        guard head.isSigned(by: peerKey) else { return .badSignature }
        let node = Base64URL.encode(peerKey)
        do {
            return try db.withDatabase { db throws(SQLiteError) -> Outcome in
                try db.transaction { () throws(SQLiteError) -> Outcome in
                    if let row = try db.query("SELECT head FROM witness_heads WHERE node = ?", [.text(node)]).first,
                       case .text(let text) = row[0], let kept = AuditHead(text: text) {
                        let evidence: String? = head.seq < kept.seq ? "rolled_back"
                            : head.seq == kept.seq && head.hash != kept.hash ? "forked" : nil
                        if let evidence {
                            // One piece of evidence per kept head and kind: a peer replaying old heads adds nothing.
                            let added = try db.execute("""
                                INSERT OR IGNORE INTO witness_evidence(node, kind, kept, offered, received_ns) VALUES (?, ?, ?, ?, ?)
                                """, [.text(node), .text(evidence), .text(kept.text), .text(head.text), .integer(nowNs)])
                            guard added > 0 else { return .unchanged }
                            return evidence == "forked" ? .forked(kept: kept) : .rolledBack(kept: kept)
                        }
                        if head.seq == kept.seq { return .unchanged }
                    }
                    _ = try db.execute("""
                        INSERT INTO witness_heads(node, head, seq, received_ns) VALUES (?, ?, ?, ?)
                        ON CONFLICT(node) DO UPDATE SET head = excluded.head, seq = excluded.seq, received_ns = excluded.received_ns
                        """, [.text(node), .text(head.text), .integer(head.seq), .integer(nowNs)])
                    return .kept
                }
            }
        } catch { throw BrokerError(.storage, "cannot keep the witness head of \(node): \(error)") }
    }

    /// The latest head kept for the peer whose node key is `peerKey`.
    public func head(of peerKey: [UInt8]) -> AuditHead? {
        try? db.withDatabase { db throws(SQLiteError) -> AuditHead? in
            guard let row = try db.query("SELECT head FROM witness_heads WHERE node = ?", [.text(Base64URL.encode(peerKey))]).first,
                  case .text(let text) = row[0] else { return nil }
            return AuditHead(text: text)
        }
    }

    /// Evidence kept against the peer: how many heads went backwards or forked.
    public func evidenceCount(of peerKey: [UInt8]) -> Int {
        (try? db.withDatabase { db throws(SQLiteError) -> Int in
            guard let row = try db.query("SELECT count(*) FROM witness_evidence WHERE node = ?", [.text(Base64URL.encode(peerKey))]).first,
                  case .integer(let n) = row[0] else { return 0 }
            return Int(n)
        }) ?? 0
    }

    public func close() { db.close() }
}
