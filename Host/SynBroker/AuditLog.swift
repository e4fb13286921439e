import Synchronization
import SynSodium
import SynSQLite
import SynSandbox
#if canImport(Glibc)
import Glibc
#endif

/// The node's append-only, hash-chained audit log in `node.db`, with checkpoints and heads signed by the node key.
///
/// Every append is its own transaction, and takes its sequence number and previous hash from the database inside
/// that transaction. A checkpoint (the latest entry's hash, signed) is written to `node.db` every
/// `checkpointInterval` entries, whenever `checkpoint()` finds new entries (the node calls it every few seconds)
/// and on `close`; each one also replaces the signed head in `audit.head`, outside `node.db` (see `AuditHead`).
///
/// If an entry cannot be written the log is *failing*: `failure` says since when and why, and the node refuses
/// what it would have to audit until a later write succeeds; that write first records how many entries were lost.
public final class AuditLog: @unchecked Sendable {
    public static let checkpointInterval: Int64 = 64
    /// How often a failing log may be retried by `retryIfFailing`.
    static let retryIntervalNs: Int64 = 1_000_000_000
    private let lock = Mutex()
    private let db: Database
    private let headPath: String?
    private let sign: @Sendable ([UInt8]) -> [UInt8]
    private var lastSeq: Int64 = 0
    private var lastHash = [UInt8](repeating: 0, count: 32)
    private var lastCheckpoint: Int64 = 0
    private var failing: Failure? { didSet { failingFlag.store(failing != nil, ordering: .relaxed) } }
    /// `failing != nil`, readable without the lock on every call.
    private let failingFlag = Atomic<Bool>(false)
    private var lastRetryNs: Int64 = 0

    /// Why entries cannot be written, since when, and how many were lost.
    public struct Failure: Sendable, Equatable {
        public let sinceNs: Int64
        public var lost: Int
        public var reason: String
    }

    /// Opens `path` (creating the tables). `sign` signs checkpoints and heads with the node key (node domain);
    /// `headPath` is where the latest signed head is kept (nil: nowhere, for read-only tools).
    public init(path: String, headPath: String? = nil, sign: @escaping @Sendable ([UInt8]) -> [UInt8]) throws(BrokerError) {
        self.sign = sign
        self.headPath = headPath
        do {
            db = try Database(path: path)
            try db.execute(Self.schema)
            (lastSeq, lastHash) = try Self.last(db)
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

    /// The last entry's sequence number and hash as the database has them (0 and zeros for an empty log).
    private static func last(_ db: Database) throws(SQLiteError) -> (Int64, [UInt8]) {
        guard let row = try db.query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").first,
              case .integer(let seq) = row[0], case .blob(let hash) = row[1] else {
            return (0, [UInt8](repeating: 0, count: 32))
        }
        return (seq, hash)
    }

    /// Appends one entry; returns its sequence number, or 0 if it could not be written (the log is then failing).
    @discardableResult
    public func append(actor: String, app: String, action: String, decision: String, cause: String) -> Int64 {
        lock.withLock {
            guard recoverLocked() else {
                failing?.lost += 1
                return 0
            }
            return appendLocked(actor: actor, app: app, action: action, decision: decision, cause: cause)
        }
    }

    /// A failing log first records how many entries it lost; true when the log is writable again (or was).
    private func recoverLocked() -> Bool {
        guard let failure = failing else { return true }
        let gap = "\(failure.lost) entr\(failure.lost == 1 ? "y" : "ies") could not be written since "
            + "\(failure.sinceNs / 1_000_000_000) (Unix s): \(failure.reason)"
        guard appendLocked(actor: "node", app: "", action: "audit.recovered", decision: "ok", cause: gap) > 0 else {
            return false
        }
        failing = nil
        return true
    }

    private func appendLocked(actor: String, app: String, action: String, decision: String, cause: String) -> Int64 {
        let time = Self.nowNs()
        let cause = String(cause.prefix(2000))
        do {
            let (seq, hash) = try db.transaction { () throws(SQLiteError) -> (Int64, [UInt8]) in
                let (previousSeq, previousHash) = try Self.last(db)
                let seq = previousSeq + 1
                let hash = AuditEntry.hash(seq: seq, timeNs: time, actor: actor, app: app, action: action,
                                           decision: decision, cause: cause, previousHash: previousHash)
                _ = try db.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   [.integer(seq), .integer(time), .text(actor), .text(app), .text(action),
                                    .text(decision), .text(cause), .blob(previousHash), .blob(hash)])
                return (seq, hash)
            }
            lastSeq = seq
            lastHash = hash
            if seq - lastCheckpoint >= Self.checkpointInterval { checkpointLocked() }
            return seq
        } catch {
            if failing == nil {
                failing = Failure(sinceNs: time, lost: 1, reason: "\(error)")
                let line = "syneroym: cannot append to the audit log, refusing audited work until it can: \(error)\n"
                _ = line.withCString { write(2, $0, strlen($0)) }
            }
            return 0
        }
    }

    /// Why the log cannot be written, or nil when it can.
    public var failure: Failure? { lock.withLock { failing } }

    /// Whether the log can be written now: a failing log is retried (at most once a second) by recording the gap.
    public func retryIfFailing() -> Bool {
        guard failingFlag.load(ordering: .relaxed) else { return true }
        return lock.withLock {
            guard failing != nil else { return true }
            let now = Self.nowNs()
            guard now - lastRetryNs >= Self.retryIntervalNs else { return false }
            lastRetryNs = now
            return recoverLocked()
        }
    }

    /// Signs the latest entry now if it is not signed yet (also done every `checkpointInterval` entries and on
    /// close). The node calls this every few seconds.
    public func checkpoint() { lock.withLock { checkpointLocked() } }

    private func checkpointLocked() {
        guard lastSeq > lastCheckpoint else { return }
        let now = Self.nowNs()
        let signature = sign(AuditEntry.checkpointMessage(seq: lastSeq, hash: lastHash))
        guard (try? db.execute("INSERT INTO audit_checkpoint VALUES (?, ?, ?, ?)",
                               [.integer(lastSeq), .blob(lastHash), .blob(signature), .integer(now)])) != nil else { return }
        lastCheckpoint = lastSeq
        guard let headPath else { return }
        let head = AuditHead(seq: lastSeq, timeNs: now, hash: lastHash, sign: sign)
        do { try head.store(path: headPath) } catch {
            let line = "syneroym: cannot keep the audit head: \(error.message)\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
        }
    }

    /// The latest signed head this log wrote, if any.
    public func head() -> AuditHead? {
        guard let headPath else { return nil }
        return try? AuditHead.load(path: headPath)
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
        do {
            let db = try AuditVerifier.openReadOnly(path)
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
