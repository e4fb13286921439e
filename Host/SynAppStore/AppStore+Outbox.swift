import SynSQLite
public import SynWire

/// The outbox: events and timers a call produced, written in the call's own transaction, so they exist exactly
/// when its writes do. After the commit the worker hands them to the host, which stores them once (it
/// de-duplicates by sequence number) and acknowledges; acknowledged rows are deleted by a later transaction.
extension AppStore {
    /// Adds an event (`OutboxRow.event`) or a timer (`OutboxRow.timer`) to the call's transaction.
    public func enqueue(kind: UInt32, type: [UInt8], payload: [UInt8], token: UInt64, dueNs: Int64, requestID: UInt64)
        throws(StoreFailure)
    {
        _ = try kv("INSERT INTO syn_outbox(request_id, kind, type, payload, token, due_ns) VALUES (?, ?, ?, ?, ?, ?)",
                   [.integer(Int64(bitPattern: requestID)), .integer(Int64(kind)), .blob(type), .blob(payload),
                    .integer(Int64(bitPattern: token)), .integer(dueNs)])
        outboxPending = true
    }

    /// Committed rows the host has not acknowledged, oldest first: at most `OutboxBatch.maxRows` and about
    /// `maxBytes` on the link (always at least one row). Empty when there are none, or outside a finished call.
    public func undelivered(maxBytes: Int) -> OutboxBatch {
        guard !began else { return OutboxBatch(epoch: outboxEpoch, rows: []) }
        let rows = (try? run("""
            SELECT seq, request_id, kind, type, payload, token, due_ns FROM syn_outbox WHERE seq > ? ORDER BY seq LIMIT ?
            """, [.integer(outboxAcknowledged), .integer(Int64(OutboxBatch.maxRows))])) ?? []
        var batch: [OutboxRow] = []
        var bytes = 64
        for r in rows {
            guard case .integer(let seq) = r[0], case .integer(let request) = r[1], case .integer(let kind) = r[2],
                  case .blob(let type) = r[3], case .blob(let payload) = r[4], case .integer(let token) = r[5],
                  case .integer(let due) = r[6] else { continue }
            let row = OutboxRow(seq: seq, requestID: UInt64(bitPattern: request), kind: UInt32(truncatingIfNeeded: kind),
                                type: type, payload: payload, token: UInt64(bitPattern: token), dueNs: due)
            if !batch.isEmpty && bytes + row.wireSize > maxBytes { break }
            bytes += row.wireSize
            batch.append(row)
        }
        if batch.isEmpty { outboxPending = false }
        return OutboxBatch(epoch: outboxEpoch, rows: batch)
    }

    /// The host has stored every row up to `seq`.
    public func acknowledge(through seq: Int64) {
        outboxAcknowledged = max(outboxAcknowledged, seq)
    }
}
