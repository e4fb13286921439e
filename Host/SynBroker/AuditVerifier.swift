import SynSodium
import SynSQLite

/// Checks an audit log: every entry's hash, the chain between entries, every checkpoint's signature, and that
/// the log still holds, unchanged, the entry of the node's signed head and of any head kept elsewhere.
public enum AuditVerifier {
    public struct Report: Sendable, Equatable {
        public let entries: Int
        public let checkpoints: Int
        /// The first broken entry (or checkpoint) and why; nil when the log is intact.
        public let firstBroken: (seq: Int64, reason: String)?
        /// The node's latest signed head (`audit.head`), when there is one.
        public var head: AuditHead? = nil

        init(entries: Int, checkpoints: Int, firstBroken: (seq: Int64, reason: String)?, head: AuditHead? = nil) {
            self.entries = entries
            self.checkpoints = checkpoints
            self.firstBroken = firstBroken
            self.head = head
        }

        public static func == (a: Report, b: Report) -> Bool {
            a.entries == b.entries && a.checkpoints == b.checkpoints && a.firstBroken?.seq == b.firstBroken?.seq
                && a.firstBroken?.reason == b.firstBroken?.reason && a.head == b.head
        }
    }

    /// Verifies `node.db` at `path` against the node's public key, the signed head at `headPath` (when given and
    /// present) and `expected`, a head the caller kept (`audit verify --head`).
    public static func verify(path: String, nodePublicKey: [UInt8], headPath: String? = nil,
                              expected: AuditHead? = nil) throws(BrokerError) -> Report {
        var report = try verifyChain(path: path, nodePublicKey: nodePublicKey)
        guard report.firstBroken == nil else { return report }
        let stored: AuditHead?
        if let headPath {
            do { stored = try AuditHead.load(path: headPath) } catch {
                return Report(entries: report.entries, checkpoints: report.checkpoints, firstBroken: (0, error.message))
            }
        } else { stored = nil }
        report.head = stored
        for (head, name) in [(stored, "the node's signed head (\(headPath ?? ""))"), (expected, "the head given with --head")] {
            guard let head else { continue }
            if let broken = check(head, name: name, path: path, entries: report.entries, nodePublicKey: nodePublicKey) {
                return Report(entries: report.entries, checkpoints: report.checkpoints, firstBroken: broken, head: stored)
            }
        }
        if let stored, let expected, stored.seq < expected.seq {
            return Report(entries: report.entries, checkpoints: report.checkpoints,
                          firstBroken: (expected.seq, "the node's signed head went back from entry \(expected.seq) to entry \(stored.seq)"),
                          head: stored)
        }
        return report
    }

    /// Why `head` (named `name` in the reason, e.g. "the head peer b holds") does not match the log at `path` of
    /// `entries` entries, or nil when the log holds its entry unchanged.
    public static func check(_ head: AuditHead, name: String, path: String, entries: Int,
                              nodePublicKey: [UInt8]) -> (seq: Int64, reason: String)? {
        guard head.isSigned(by: nodePublicKey) else { return (head.seq, "\(name) is not signed by this node's key") }
        guard head.seq > 0 else { return nil }
        guard head.seq <= Int64(entries) else {
            return (Int64(entries) + 1, "the log ends at entry \(entries), but \(name) covers entry \(head.seq): entries were deleted")
        }
        guard let hash = try? entryHash(path: path, seq: head.seq), hash == head.hash else {
            return (head.seq, "entry \(head.seq) is not the one \(name) covers: the log was rewritten")
        }
        return nil
    }

    /// `node.db` opened read-only, creating nothing (a running node may hold it).
    static func openReadOnly(_ path: String) throws(SQLiteError) -> Database {
        var options = Database.Options()
        options.readOnly = true
        options.create = false
        return try Database(path: path, options: options)
    }

    private static func entryHash(path: String, seq: Int64) throws(SQLiteError) -> [UInt8]? {
        let db = try openReadOnly(path)
        defer { db.close() }
        guard let row = try db.query("SELECT hash FROM audit WHERE seq = ?", [.integer(seq)]).first,
              case .blob(let hash) = row[0] else { return nil }
        return hash
    }

    /// The chain and the checkpoints alone. Entries are read one at a time (a log grows for as long as the node
    /// runs); only the hashes the checkpoints name are kept.
    static func verifyChain(path: String, nodePublicKey: [UInt8]) throws(BrokerError) -> Report {
        do {
            let db = try openReadOnly(path)
            defer { db.close() }
            let checkpoints = try db.query("SELECT seq, hash, signature FROM audit_checkpoint ORDER BY seq")
            var wanted = Set<Int64>()
            for row in checkpoints { if case .integer(let seq) = row[0] { wanted.insert(seq) } }
            let statement = try db.prepare("SELECT * FROM audit ORDER BY seq")
            var previous = [UInt8](repeating: 0, count: 32)
            var expectedSeq: Int64 = 1
            var hashes: [Int64: [UInt8]] = [:]
            var count = 0
            var broken: (seq: Int64, reason: String)?
            while broken == nil, try statement.step() {
                let row = statement.row()
                guard row.count == 9, case .integer(let seq) = row[0], case .integer(let time) = row[1],
                      case .text(let actor) = row[2], case .text(let app) = row[3], case .text(let action) = row[4],
                      case .text(let decision) = row[5], case .text(let cause) = row[6], case .blob(let prev) = row[7],
                      case .blob(let stored) = row[8] else {
                    broken = (expectedSeq, "entry \(expectedSeq) is malformed")
                    break
                }
                count += 1
                if seq != expectedSeq {
                    broken = (expectedSeq, "entry \(expectedSeq) is missing (the next is \(seq))")
                } else if prev != previous {
                    broken = (seq, "entry \(seq) does not chain to entry \(seq - 1)")
                } else {
                    let hash = AuditEntry.hash(seq: seq, timeNs: time, actor: actor, app: app, action: action,
                                               decision: decision, cause: cause, previousHash: prev)
                    if hash != stored {
                        broken = (seq, "entry \(seq) was modified (its hash does not match its fields)")
                    } else {
                        if wanted.contains(seq) { hashes[seq] = hash }
                        previous = hash
                        expectedSeq += 1
                    }
                }
            }
            if let broken {
                // How many entries there are, as the report says, without reading them all again.
                let total = try db.query("SELECT count(*) FROM audit").first.flatMap { row -> Int? in
                    if case .integer(let n) = row[0] { return Int(n) } else { return nil }
                } ?? count
                return Report(entries: total, checkpoints: 0, firstBroken: broken)
            }
            for row in checkpoints {
                guard case .integer(let seq) = row[0], case .blob(let hash) = row[1], case .blob(let signature) = row[2]
                else { return Report(entries: count, checkpoints: checkpoints.count, firstBroken: (0, "a checkpoint is malformed")) }
                guard let entryHash = hashes[seq] else {
                    return Report(entries: count, checkpoints: checkpoints.count,
                                  firstBroken: (seq, "checkpoint \(seq) covers entries that are missing (the log was truncated)"))
                }
                guard entryHash == hash,
                      Ed25519.verify(publicKey: nodePublicKey, domain: .node,
                                     message: AuditEntry.checkpointMessage(seq: seq, hash: hash), signature: signature)
                else {
                    return Report(entries: count, checkpoints: checkpoints.count,
                                  firstBroken: (seq, "checkpoint \(seq) is not signed by this node's key over entry \(seq)"))
                }
            }
            return Report(entries: count, checkpoints: checkpoints.count, firstBroken: nil)
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
