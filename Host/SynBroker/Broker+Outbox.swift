import SynAppStore
import SynConfig
import SynSandbox
import SynSQLite
import SynText
import SynWire
import Synchronization
import SynSystem

/// What a request emits: its allowance of events, timers and messages to peers, and the rows its worker hands over
/// from the app's outbox, checked as `event_emit`, `timer_set` and `net_send` would have checked them.
extension Broker {
    /// Counts one more event or timer of `bytes` against request `id`'s allowance.
    func reserveOutbox(_ id: UInt64, bytes: Int, timer: Bool, slot: String) throws(BrokerFailure) {
        let ok: Bool = state.withLock { st in
            let used = st.emitted[id] ?? (0, 0, 0)
            guard used.items < Self.maxOutboxItems && used.bytes + bytes <= Self.maxOutboxBytes else { return false }
            st.emitted[id] = (used.items + 1, used.timers + (timer ? 1 : 0), used.bytes + bytes)
            return true
        }
        guard ok else {
            throw BrokerFailure(SynStatus.quota,
                                "\(slot): one request may emit at most \(Self.maxOutboxItems) events and timers, \(Self.maxOutboxBytes >> 20) MiB in all")
        }
    }

    /// Stores what the app's worker committed to its outbox, as the host would have accepted it from `event_emit`
    /// and `timer_set`: a row the app wrote past those checks (its database is its own) is refused and audited.
    /// Returns the last sequence number stored; a re-sent row is stored once.
    func storeOutbox(_ app: AppState, _ context: HostCallContext, _ batch: OutboxBatch) throws(BrokerFailure) -> Int64 {
        guard !batch.rows.isEmpty, !batch.epoch.isEmpty else {
            throw BrokerFailure(SynStatus.badArg, "outbox: an empty hand-over")
        }
        let bytes = batch.rows.reduce(0) { $0 + $1.wireSize }
        let allowed: Bool = state.withLock { st in
            let used = st.handedOver[context.requestID] ?? (0, 0, 0)
            guard used.calls < Self.maxOutboxCallsPerCall, used.rows + batch.rows.count <= Self.maxOutboxRowsPerCall,
                  used.bytes + bytes <= Self.maxOutboxBytesPerCall else { return false }
            st.handedOver[context.requestID] = (used.calls + 1, used.rows + batch.rows.count, used.bytes + bytes)
            return true
        }
        guard allowed else {
            throw BrokerFailure(SynStatus.quota, "outbox: one call hands over at most \(Self.maxOutboxRowsPerCall) rows, \(Self.maxOutboxBytesPerCall >> 20) MiB, in \(Self.maxOutboxCallsPerCall) hand-overs; the rest waits for the next call")
        }
        let now = WallClock.nowNs()
        let maxDue = now + Int64(Self.maxTimerDelayMs) * 1_000_000 + 60_000_000_000
        let recent = state.withLock { st in st.callers }
        let appID = context.app
        let result: EventStore.Applied
        do {
            result = try events.applyOutbox(app: context.app, epoch: batch.epoch, rows: batch.rows) { row, pendingTimers in
                switch row.kind {
                case OutboxRow.event:
                    guard let type = try? Self.eventType(row.type) else { return .refuse("event \(row.seq): a malformed type") }
                    if let denial = app.policy.denial(.eventsPublish(type: type)) { return .refuse("event \(row.seq): \(denial)") }
                    guard row.payload.count <= Self.maxEventPayload, row.payload.isEmpty || JSONScan.isJSON(row.payload) else {
                        return .refuse("event \(row.seq): the payload is not JSON of at most 64 KiB")
                    }
                    return .event(caller: recent.actor(appID, row.requestID) ?? "unattributed", type: type, payload: row.payload)
                case OutboxRow.timer:
                    if let denial = app.policy.denial(.timers) { return .refuse("timer \(row.seq): \(denial)") }
                    guard row.payload.count <= Self.maxEventPayload, row.dueNs <= maxDue, row.token > 0, row.token <= UInt64(Int64.max) else {
                        return .refuse("timer \(row.seq): a payload over 64 KiB, a due time past 30 days or a bad token")
                    }
                    guard pendingTimers < Self.maxPendingTimers else {
                        return .refuse("timer \(row.seq): app '\(context.app)' already has \(Self.maxPendingTimers) timers pending")
                    }
                    return .timer(token: Int64(row.token), dueNs: row.dueNs, payload: row.payload)
                case OutboxRow.net:
                    if let denial = app.policy.denial(.netPeers) { return .refuse("message \(row.seq): \(denial)") }
                    guard let peer = String(validating: row.type, as: UTF8.self), NameRules.isNodeID(peer),
                          row.payload.count <= Self.maxNetPayload else {
                        return .refuse("message \(row.seq): a malformed peer node id or a payload over 64 KiB")
                    }
                    if let denial = app.policy.denial(.netPeer(peer)) { return .refuse("message \(row.seq): \(denial)") }
                    return .net(peer: peer, caller: recent.actor(appID, row.requestID) ?? "unattributed", payload: row.payload)
                default:
                    return .refuse("row \(row.seq): unknown kind \(row.kind)")
                }
            }
        } catch {
            throw BrokerFailure(SynStatus.io, "outbox: the node could not store the events and timers (they stay in the app's outbox): \(error.message)")
        }
        state.withLock { st in st.counters[context.app, default: (0, 0)].events += result.events }
        for why in result.refused { auditDenial(context, action: "outbox", decision: "refused", cause: why) }
        if let full = result.full {
            auditDenial(context, action: "outbox", decision: "deferred", cause: full + "; the rest stays in the app's outbox")
        }
        // Event threads wake for events and timers only; a link, for its messages.
        if result.events > 0 || result.timers > 0 { onCommit() }
        if !result.peers.isEmpty { onNetCommit(result.peers) }
        return result.through
    }

    /// An event type from the wire, checked.
    static func eventType(_ bytes: [UInt8]) throws(BrokerFailure) -> String {
        guard let type = String(validating: bytes, as: UTF8.self), isEventType(type) else {
            throw BrokerFailure(SynStatus.badArg, "event_emit: the type must be dot-separated segments of [a-z0-9_-], e.g. \"shop.order.paid\"")
        }
        return type
    }

    /// `shop.order.paid`: dot-separated segments of `[a-z0-9_-]`, at most 128 bytes.
    static func isEventType(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 128 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { segment in
            !segment.isEmpty && segment.utf8.allSatisfy { c in
                (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D
            }
        }
    }
}
