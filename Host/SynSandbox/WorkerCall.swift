import SynWire

/// One call for a worker: a request for the app's `handle`, or an event, timer or message for its `on_event`.
public enum WorkerCall: Sendable {
    /// `via`: the apps an app-to-app call came through (the last made it; empty for a client's call).
    /// `deadlineNs`: an earlier deadline (monotonic) inherited from the calling app's call.
    case handle(method: String, caller: [UInt8], body: [UInt8], tag: String, via: [String] = [], deadlineNs: Int64? = nil)
    case event(kind: UInt32, topic: [UInt8], payload: [UInt8], token: UInt64)
    /// A step of an online backup of the app's database (`CallOp.backup`): up to `pages` pages, 0 for all, within
    /// `timeoutMs` (the profile's call timeout when nil); `mode` 0 goes on, 1 starts anew, 2 abandons it.
    case backup(pages: UInt32, mode: UInt8, timeoutMs: Int?)

    /// A time limit of its own, else the profile's `call_timeout_ms`.
    var timeoutMs: Int? {
        if case .backup(_, _, let timeoutMs) = self { return timeoutMs }
        return nil
    }

    var op: CallOp {
        switch self {
        case .handle: .handle
        case .event: .event
        case .backup: .backup
        }
    }

    /// The call frame's payload (`HandlePayload` layout for `handle`; `kind, topic, payload, token` for events).
    var payload: HandlePayload {
        switch self {
        case .handle(let method, let caller, let body, let tag, let via, let deadlineNs):
            var p = HandlePayload(method: Array(method.utf8), caller: caller, origin: Array((via.last ?? "").utf8), body: body)
            p.tag = tag
            p.via = via
            p.deadlineNs = deadlineNs
            return p
        case .event(let kind, let topic, let payload, let token):
            var w = WireWriter()
            w.u32(kind); w.data(topic); w.data(payload); w.u64(token)
            return HandlePayload(raw: w.bytes)
        case .backup(let pages, let mode, _):
            var w = WireWriter()
            w.u32(pages); w.u8(mode)
            return HandlePayload(raw: w.bytes)
        }
    }

    /// Bytes on the link, for sizing a pipelined batch.
    var wireSize: Int {
        switch self {
        case .handle(let method, let caller, let body, _, let via, _): 20 + method.utf8.count + caller.count + (via.last?.utf8.count ?? 0) + body.count
        case .event(_, let topic, let payload, _): 20 + topic.count + payload.count
        case .backup: 24
        }
    }
}

/// What became of one call of a pipelined batch (`WorkerProcess.pipeline`).
public enum PipelineOutcome: Sendable {
    /// The app answered (a failed `syn_status` is an answer too).
    case reply(CallReply)
    /// The worker died, or was killed, while serving this call.
    case died(WorkerError)
    /// The worker died before it could start this call: the app never ran it, so it may be sent elsewhere.
    case notStarted
}
