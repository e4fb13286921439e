public import SynWire

/// Who is calling, for a host function run on an app's behalf.
public struct HostCallContext: Sendable, Equatable {
    public let app: String
    public let requestID: UInt64
    /// The verified caller's raw public key for `handle` calls; empty when anonymous or for other calls.
    public let caller: [UInt8]
    /// When the call's time runs out (monotonic nanoseconds); host functions should finish well before.
    public let deadlineNs: Int64
    /// The request id the gateway gave this call (`X-Request-Id`), for audit entries and logs; empty otherwise.
    public let tag: String
    /// The apps this call came through by `app_call`, first caller first (empty for a client's call).
    public let via: [String]
    /// The largest host reply the app's worker takes (its frame limit less the frame's own fields).
    public let maxReply: Int
    public init(app: String, requestID: UInt64, caller: [UInt8], deadlineNs: Int64 = Int64.max, tag: String = "", via: [String] = [],
                maxReply: Int = Int.max) {
        self.app = app
        self.requestID = requestID
        self.caller = caller
        self.deadlineNs = deadlineNs
        self.tag = tag
        self.via = via
        self.maxReply = maxReply
    }
}

/// Answers the app's capability calls (`hostCall` frames), and learns how each call ended.
public protocol HostCallHandler: Sendable {
    /// Runs one host function. Returns the `syn_status` and the reply payload (on failure, a UTF-8 message for
    /// `last_error`).
    func hostCall(_ context: HostCallContext, op: HostOp, payload: [UInt8]) -> (status: Int32, payload: [UInt8])
    /// The call ended. `commit` is true exactly when the worker committed the call's transaction: the app returned
    /// SYN_OK (with a 2xx or 3xx status for a method call) and the commit succeeded; a failure, a timeout or the
    /// worker's death ends it with `commit` false. Returns why the host could not keep what the call produced: the
    /// call then fails with that status and message.
    func endCall(_ context: HostCallContext, commit: Bool) -> HostCallFailure?
    /// The app's database, if the app may use storage: the worker opens it itself, on these files.
    func storage(for app: String) -> WorkerStorage?
}

extension HostCallHandler {
    public func storage(for app: String) -> WorkerStorage? { nil }
}

/// Where an app's database lives and what its worker may do with it.
public struct WorkerStorage: Sendable, Equatable {
    /// The directory holding `app.db`, `app.db-wal` and `app.db-shm` (see `AppStoreFiles`).
    public let directory: String
    public let quotaBytes: UInt64
    /// `storage.kv` and `storage.sql` granted (manifest ∩ node.toml).
    public let kv: Bool
    public let sql: Bool
    /// The host's cursor of the app's outbox (see `WorkerSetup.Storage.cursorEpoch`).
    public var cursorEpoch: [UInt8] = []
    public var cursorSeq: Int64 = 0
    /// Where the app's backup copy streams to the host (nil: its workers write `app.db-backup` themselves).
    public var backupChannel: BackupChannel?
    public init(directory: String, quotaBytes: UInt64, kv: Bool, sql: Bool) {
        self.directory = directory
        self.quotaBytes = quotaBytes
        self.kv = kv
        self.sql = sql
    }
}

/// Why the host failed a call the app itself completed.
public struct HostCallFailure: Error, Sendable, Equatable {
    /// A `syn_status` (negative).
    public let status: Int32
    public let message: String
    public init(status: Int32, message: String) {
        self.status = status
        self.message = message
    }
}

/// The handler used without a capability broker: every capability slot is callable and says why it fails.
public struct UnsupportedHostCalls: HostCallHandler {
    public init() {}
    public func endCall(_ context: HostCallContext, commit: Bool) -> HostCallFailure? { nil }
    public func hostCall(_ context: HostCallContext, op: HostOp, payload: [UInt8]) -> (status: Int32, payload: [UInt8]) {
        let message = "\(op.slotName) is not supported by this node yet: the capability broker that serves it is not installed"
        return (-6, Array(message.utf8)) // SYN_E_UNSUPPORTED
    }
}
