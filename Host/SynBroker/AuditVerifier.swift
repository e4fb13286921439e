import SynSodium
import SynSQLite

/// Checks an audit log: every entry's hash, the chain between entries, and every checkpoint's signature.
public enum AuditVerifier {
    public struct Report: Sendable, Equatable {
        public let entries: Int
        public let checkpoints: Int
        /// The first broken entry (or checkpoint) and why; nil when the log is intact.
        public let firstBroken: (seq: Int64, reason: String)?

        public static func == (a: Report, b: Report) -> Bool {
            a.entries == b.entries && a.checkpoints == b.checkpoints && a.firstBroken?.seq == b.firstBroken?.seq
                && a.firstBroken?.reason == b.firstBroken?.reason
        }
    }

    /// Verifies `node.db` at `path` against the node's public key.
    public static func verify(path: String, nodePublicKey: [UInt8]) throws(BrokerError) -> Report {
        var options = Database.Options()
        options.readOnly = true
        options.create = false
        do {
            let db = try Database(path: path, options: options)
            defer { db.close() }
            let all = try entries(db, limit: nil)
            var previous = [UInt8](repeating: 0, count: 32)
            var expectedSeq: Int64 = 1
            var hashes: [Int64: [UInt8]] = [:]
            for e in all {
                if e.seq != expectedSeq {
                    return Report(entries: all.count, checkpoints: 0,
                                  firstBroken: (expectedSeq, "entry \(expectedSeq) is missing (the next is \(e.seq))"))
                }
                if e.previousHash != previous {
                    return Report(entries: all.count, checkpoints: 0,
                                  firstBroken: (e.seq, "entry \(e.seq) does not chain to entry \(e.seq - 1)"))
                }
                let hash = AuditEntry.hash(seq: e.seq, timeNs: e.timeNs, actor: e.actor, app: e.app, action: e.action,
                                           decision: e.decision, cause: e.cause, previousHash: e.previousHash)
                if hash != e.hash {
                    return Report(entries: all.count, checkpoints: 0,
                                  firstBroken: (e.seq, "entry \(e.seq) was modified (its hash does not match its fields)"))
                }
                hashes[e.seq] = hash
                previous = hash
                expectedSeq += 1
            }
            let checkpoints = try db.query("SELECT seq, hash, signature FROM audit_checkpoint ORDER BY seq")
            for row in checkpoints {
                guard case .integer(let seq) = row[0], case .blob(let hash) = row[1], case .blob(let signature) = row[2]
                else { return Report(entries: all.count, checkpoints: checkpoints.count, firstBroken: (0, "a checkpoint is malformed")) }
                guard let entryHash = hashes[seq] else {
                    return Report(entries: all.count, checkpoints: checkpoints.count,
                                  firstBroken: (seq, "checkpoint \(seq) covers entries that are missing (the log was truncated)"))
                }
                guard entryHash == hash,
                      Ed25519.verify(publicKey: nodePublicKey, domain: .node,
                                     message: AuditEntry.checkpointMessage(seq: seq, hash: hash), signature: signature)
                else {
                    return Report(entries: all.count, checkpoints: checkpoints.count,
                                  firstBroken: (seq, "checkpoint \(seq) is not signed by this node's key over entry \(seq)"))
                }
            }
            return Report(entries: all.count, checkpoints: checkpoints.count, firstBroken: nil)
        } catch { throw BrokerError(.storage, "cannot read the audit log \(path): \(error)") }
    }

    static func entries(_ db: Database, limit: Int?) throws(SQLiteError) -> [AuditEntry] {
        let sql = limit == nil
            ? "SELECT * FROM audit ORDER BY seq"
            : "SELECT * FROM (SELECT * FROM audit ORDER BY seq DESC LIMIT \(max(limit ?? 0, 0))) ORDER BY seq"
        return try db.query(sql).compactMap { row in
            guard row.count == 9, case .integer(let seq) = row[0], case .integer(let time) = row[1],
                  case .text(let actor) = row[2], case .text(let app) = row[3], case .text(let action) = row[4],
                  case .text(let decision) = row[5], case .text(let cause) = row[6], case .blob(let prev) = row[7],
                  case .blob(let hash) = row[8] else { return nil }
            return AuditEntry(seq: seq, timeNs: time, actor: actor, app: app, action: action, decision: decision,
                              cause: cause, previousHash: prev, hash: hash)
        }
    }
}
