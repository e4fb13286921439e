import Synchronization
import SynSodium
import SynSQLite
import SynSandbox
import SynSystem
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
public final class AuditLog: Sendable {
    public static let checkpointInterval: Int64 = 64
    /// How often a failing log may be retried by `retryIfFailing`.
    static let retryIntervalNs: Int64 = 1_000_000_000
    private let state: Mutex<AuditWriter>
    /// Whether the log is failing, readable without the lock on every call.
    private let failingFlag = Atomic<Bool>(false)
    private let headPath: String?

    /// Why entries cannot be written, since when, and how many were lost.
    public struct Failure: Sendable, Equatable {
        public let sinceNs: Int64
        public var lost: Int
        public var reason: String
    }

    /// Opens `path` (creating the tables). `sign` signs checkpoints and heads with the node key (node domain);
    /// `headPath` is where the latest signed head is kept (nil: nowhere, for read-only tools).
    public init(path: String, headPath: String? = nil, sign: @escaping @Sendable ([UInt8]) -> [UInt8]) throws(BrokerError) {
        self.headPath = headPath
        let writer: AuditWriter
        do { writer = try AuditWriter(path: path, headPath: headPath, sign: sign) } catch {
            throw BrokerError(.storage, "audit log \(path): \(error)")
        }
        state = Mutex(writer)
    }

    /// Runs `body` with the writer, under the lock, and publishes whether the log is failing.
    private func locked<R>(_ body: (inout AuditWriter) -> R) -> R {
        state.withLock { writer in
            let result = body(&writer)
            failingFlag.store(writer.failing != nil, ordering: .relaxed)
            return result
        }
    }

    static let schema = """
        CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, actor TEXT NOT NULL,
            app TEXT NOT NULL, action TEXT NOT NULL, decision TEXT NOT NULL, cause TEXT NOT NULL,
            prev_hash BLOB NOT NULL, hash BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS audit_checkpoint (seq INTEGER PRIMARY KEY, hash BLOB NOT NULL,
            signature BLOB NOT NULL, time_ns INTEGER NOT NULL);
        """

    /// Appends one entry; returns its sequence number, or 0 if it could not be written (the log is then failing).
    @discardableResult
    public func append(actor: String, app: String, action: String, decision: String, cause: String) -> Int64 {
        locked { writer in
            guard writer.recover() else {
                writer.failing?.lost += 1
                return 0
            }
            return writer.append(actor: actor, app: app, action: action, decision: decision, cause: cause)
        }
    }

    /// Why the log cannot be written, or nil when it can.
    public var failure: Failure? { state.withLock { $0.failing } }

    /// Whether the log can be written now: a failing log is retried (at most once a second) by recording the gap.
    public func retryIfFailing() -> Bool {
        guard failingFlag.load(ordering: .relaxed) else { return true }
        return locked { writer in
            guard writer.failing != nil else { return true }
            let now = MonotonicClock.nowNs()
            guard now - writer.lastRetryNs >= Self.retryIntervalNs else { return false }
            writer.lastRetryNs = now
            return writer.recover()
        }
    }

    /// Signs the latest entry now if it is not signed yet (also done every `checkpointInterval` entries and on
    /// close). The node calls this every few seconds.
    public func checkpoint() { state.withLock { $0.checkpoint() } }

    /// The latest signed head this log wrote, if any.
    public func head() -> AuditHead? {
        guard let headPath else { return nil }
        return try? AuditHead.load(path: headPath)
    }

    /// ` [request <id>]`, how an entry made during a gateway request names it (empty without one).
    public static func requestSuffix(_ tag: String) -> String { tag.isEmpty ? "" : " [request \(tag)]" }

    /// Checkpoints and closes.
    public func close() {
        state.withLock { writer in
            writer.checkpoint()
            writer.db.close()
        }
    }

    /// The most recent entries, newest last.
    public func recent(_ limit: Int) -> [AuditEntry] {
        state.withLock { (try? AuditVerifier.entries($0.db, limit: limit)) ?? [] }
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
}
