import SynSQLite
import SynSystem
#if canImport(Glibc)
import Glibc
#endif

/// The audit log's writing side, which lives inside `AuditLog`'s lock: the database, the chain's last entry, the
/// last checkpoint and the failure state.
struct AuditWriter {
    let db: Database
    let headPath: String?
    let sign: @Sendable ([UInt8]) -> [UInt8]
    var lastSeq: Int64 = 0
    var lastHash = [UInt8](repeating: 0, count: 32)
    var lastCheckpoint: Int64 = 0
    var failing: AuditLog.Failure?
    /// When a failing log was last retried (`MonotonicClock`).
    var lastRetryNs: Int64 = 0

    init(path: String, headPath: String?, sign: @escaping @Sendable ([UInt8]) -> [UInt8]) throws(SQLiteError) {
        self.headPath = headPath
        self.sign = sign
        db = try Database(path: path)
        try db.execute(AuditLog.schema)
        (lastSeq, lastHash) = try Self.last(db)
        if let row = try db.query("SELECT max(seq) FROM audit_checkpoint").first, case .integer(let seq) = row[0] {
            lastCheckpoint = seq
        }
    }

    /// The last entry's sequence number and hash as the database has them (0 and zeros for an empty log).
    static func last(_ db: Database) throws(SQLiteError) -> (Int64, [UInt8]) {
        guard let row = try db.cachedQuery("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").first,
              case .integer(let seq) = row[0], case .blob(let hash) = row[1] else {
            return (0, [UInt8](repeating: 0, count: 32))
        }
        return (seq, hash)
    }

    /// A failing log first records how many entries it lost; true when the log is writable again (or was).
    mutating func recover() -> Bool {
        guard let failure = failing else { return true }
        let gap = "\(failure.lost) entr\(failure.lost == 1 ? "y" : "ies") could not be written since "
            + "\(failure.sinceNs / 1_000_000_000) (Unix s): \(failure.reason)"
        guard append(actor: "node", app: "", action: "audit.recovered", decision: "ok", cause: gap) > 0 else {
            return false
        }
        failing = nil
        return true
    }

    /// Appends one entry in its own transaction, taking the sequence and previous hash from the database; 0 when
    /// it could not be written (the log is then failing).
    mutating func append(actor: String, app: String, action: String, decision: String, cause: String) -> Int64 {
        let time = WallClock.nowNs()
        let cause = String(cause.prefix(2000))
        do {
            let db = self.db
            let (seq, hash) = try db.transaction { () throws(SQLiteError) -> (Int64, [UInt8]) in
                let (previousSeq, previousHash) = try Self.last(db)
                let seq = previousSeq + 1
                let hash = AuditEntry.hash(seq: seq, timeNs: time, actor: actor, app: app, action: action,
                                           decision: decision, cause: cause, previousHash: previousHash)
                _ = try db.cachedExecute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                         [.integer(seq), .integer(time), .text(actor), .text(app), .text(action),
                                          .text(decision), .text(cause), .blob(previousHash), .blob(hash)])
                return (seq, hash)
            }
            lastSeq = seq
            lastHash = hash
            if seq - lastCheckpoint >= AuditLog.checkpointInterval { checkpoint() }
            return seq
        } catch {
            if failing == nil {
                failing = AuditLog.Failure(sinceNs: time, lost: 1, reason: "\(error)")
                Self.complain("cannot append to the audit log, refusing audited work until it can: \(error)")
            }
            return 0
        }
    }

    /// Signs the latest entry into `audit_checkpoint` and `audit.head`, unless it is signed already.
    mutating func checkpoint() {
        guard lastSeq > lastCheckpoint else { return }
        let now = WallClock.nowNs()
        let signature = sign(AuditEntry.checkpointMessage(seq: lastSeq, hash: lastHash))
        guard (try? db.execute("INSERT INTO audit_checkpoint VALUES (?, ?, ?, ?)",
                               [.integer(lastSeq), .blob(lastHash), .blob(signature), .integer(now)])) != nil else { return }
        lastCheckpoint = lastSeq
        guard let headPath else { return }
        let head = AuditHead(seq: lastSeq, timeNs: now, hash: lastHash, sign: sign)
        do { try head.store(path: headPath) } catch { Self.complain("cannot keep the audit head: \(error.message)") }
    }

    /// A line on stderr, written directly: the logger may itself depend on what failed.
    private static func complain(_ message: String) {
        let line = "syneroym: \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}
