import SynSodium
import SynSQLite
import SynSandbox
#if canImport(Glibc)
import Glibc
#endif

/// The node's append-only, hash-chained audit log in `node.db`, with checkpoints signed by the node key.
///
/// Every append is its own transaction. A checkpoint (the latest entry's hash, signed) is written every
/// `checkpointInterval` entries and on `close`, so `syneroym audit verify` detects edits, deletions and reorderings
/// in the chain, and truncation up to the last checkpoint.
public final class AuditLog: @unchecked Sendable {
    public static let checkpointInterval: Int64 = 64
    private let lock = Mutex()
    private let db: Database
    private let sign: @Sendable ([UInt8]) -> [UInt8]
    private var lastSeq: Int64 = 0
    private var lastHash = [UInt8](repeating: 0, count: 32)
    private var lastCheckpoint: Int64 = 0

    /// Opens `path` (creating the tables). `sign` signs checkpoint messages with the node key (node domain).
    public init(path: String, sign: @escaping @Sendable ([UInt8]) -> [UInt8]) throws(BrokerError) {
        self.sign = sign
        do {
            db = try Database(path: path)
            try db.execute(Self.schema)
            if let row = try db.query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").first,
               case .integer(let seq) = row[0], case .blob(let hash) = row[1] {
                lastSeq = seq
                lastHash = hash
            }
            if let row = try db.query("SELECT max(seq) FROM audit_checkpoint").first, case .integer(let seq) = row[0] {
                lastCheckpoint = seq
            }
        } catch { throw BrokerError(.storage, "audit log \(path): \(error)") }
    }

    static let schema = """
        CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, actor TEXT NOT NULL,
            app TEXT NOT NULL, action TEXT NOT NULL, decision TEXT NOT NULL, cause TEXT NOT NULL,
            prev_hash BLOB NOT NULL, hash BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS audit_checkpoint (seq INTEGER PRIMARY KEY, hash BLOB NOT NULL,
            signature BLOB NOT NULL, time_ns INTEGER NOT NULL);
        """

    /// Appends one entry; returns its sequence number (0 if the write failed, which is reported on stderr).
    @discardableResult
    public func append(actor: String, app: String, action: String, decision: String, cause: String) -> Int64 {
        lock.withLock {
            let seq = lastSeq + 1
            let time = Self.nowNs()
            let cause = String(cause.prefix(2000))
            let hash = AuditEntry.hash(seq: seq, timeNs: time, actor: actor, app: app, action: action,
                                       decision: decision, cause: cause, previousHash: lastHash)
            do {
                _ = try db.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   [.integer(seq), .integer(time), .text(actor), .text(app), .text(action),
                                    .text(decision), .text(cause), .blob(lastHash), .blob(hash)])
            } catch {
                let line = "syneroym: cannot append to the audit log: \(error)\n"
                _ = line.withCString { write(2, $0, strlen($0)) }
                return 0
            }
            lastSeq = seq
            lastHash = hash
            if seq - lastCheckpoint >= Self.checkpointInterval { checkpointLocked() }
            return seq
        }
    }

    /// Signs the latest entry now (also done on close).
    public func checkpoint() { lock.withLock { checkpointLocked() } }

    private func checkpointLocked() {
        guard lastSeq > lastCheckpoint else { return }
        let signature = sign(AuditEntry.checkpointMessage(seq: lastSeq, hash: lastHash))
        if (try? db.execute("INSERT INTO audit_checkpoint VALUES (?, ?, ?, ?)",
                            [.integer(lastSeq), .blob(lastHash), .blob(signature), .integer(Self.nowNs())])) != nil {
            lastCheckpoint = lastSeq
        }
    }

    /// ` [request <id>]`, how an entry made during a gateway request names it (empty without one).
    public static func requestSuffix(_ tag: String) -> String { tag.isEmpty ? "" : " [request \(tag)]" }

    /// Checkpoints and closes.
    public func close() {
        lock.withLock {
            checkpointLocked()
            db.close()
        }
    }

    /// The most recent entries, newest last.
    public func recent(_ limit: Int) -> [AuditEntry] {
        lock.withLock { (try? AuditVerifier.entries(db, limit: limit)) ?? [] }
    }

    /// The most recent entries of the log in `node.db` at `path`, newest last, read without writing anything
    /// (a running node may hold the directory).
    public static func recent(path: String, limit: Int) throws(BrokerError) -> [AuditEntry] {
        var options = Database.Options()
        options.readOnly = true
        options.create = false
        do {
            let db = try Database(path: path, options: options)
            defer { db.close() }
            return try AuditVerifier.entries(db, limit: limit)
        } catch { throw BrokerError(.storage, "cannot read the audit log \(path): \(error)") }
    }

    static func nowNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
