/// The kind of a frame on the link (docs/architecture.md, Frames).
public enum FrameKind: UInt16, Sendable {
    /// Host asks the worker to do something (setup, init, handle, event, shutdown).
    case call = 1
    /// Worker answers a `call`.
    case reply = 2
    /// Worker asks the host to run a host function, nested inside a call.
    case hostCall = 3
    /// Host answers a `hostCall`.
    case hostReply = 4
    /// Host delivers an asynchronous event.
    case event = 5
    /// Worker forwards a log line; never answered.
    case log = 6
    /// Worker (or its init, or its SIGSYS reporter) reports why it is about to die.
    case fatal = 7
    // 8 was `hostWrite` (blind puts handed to the host); storage now runs in the worker. Never reuse it.
}

/// Operation codes carried in the header's `op` field of `call` frames.
public enum CallOp: UInt32, Sendable {
    case setup = 0, initialize = 1, handle = 2, event = 3, shutdown = 4
    /// One step of an online backup of the app's database into `app.db-backup` (`u32 pages`, 0 for all; `u8 mode`:
    /// 0 go on, 1 start anew, 2 abandon the backup under way); the reply's body is `u8 done, u64 remaining, u64 page
    /// count`.
    case backup = 5
}

/// Operation codes of `fatal` frames.
public enum FatalOp: UInt32, Sendable {
    /// `{i32 syscall, u32 audit arch}` from the SIGSYS reporter.
    case seccomp = 1
    /// `{i32 how (0 exited, 1 signaled), i32 value}` from the worker's init, when the app process ended.
    case appFate = 2
    /// A UTF-8 message: the sandbox could not be built.
    case setupFailed = 3
    /// A UTF-8 message: the library was refused (magic, ABI major, app id, missing symbols, init failure).
    case loadRefused = 4
}

/// Host functions forwarded to the host as `hostCall` frames; the op is the slot's index in `syn_host`.
public enum HostOp: UInt32, Sendable, CaseIterable {
    case idPublicKey = 3, idSign, idVerify, kvGet, kvPut, kvDelete, kvScan, sqlExec, sqlQuery
    case netSend, netRequest, msgPublish, eventEmit, timerSet
    /// ABI minor 1: a call to another app's method on this node, and this node's id.
    case appCall = 17, nodeID
    /// Not a slot: the worker hands over its committed outbox (`OutboxBatch`); the reply is the last stored `seq`.
    case outbox = 100
    /// Not a slot: the client notices (`msg_publish` on `client.<person>`) a call queued, handed over after it
    /// committed (`ClientNotices`); the reply is empty.
    case notices = 101
    /// Not a slot: who has a stream of this app open now (the worker drops notices for anyone else); the reply is
    /// a count and that many 32-byte keys.
    case listeners = 102

    /// The slot's name in `synapp.h`.
    public var slotName: String {
        switch self {
        case .idPublicKey: "id_public_key"
        case .idSign: "id_sign"
        case .idVerify: "id_verify"
        case .kvGet: "kv_get"
        case .kvPut: "kv_put"
        case .kvDelete: "kv_delete"
        case .kvScan: "kv_scan"
        case .sqlExec: "sql_exec"
        case .sqlQuery: "sql_query"
        case .netSend: "net_send"
        case .netRequest: "net_request"
        case .msgPublish: "msg_publish"
        case .eventEmit: "event_emit"
        case .timerSet: "timer_set"
        case .appCall: "app_call"
        case .nodeID: "node_id"
        case .outbox: "outbox"
        case .notices: "msg_publish"
        case .listeners: "msg_publish"
        }
    }
}
