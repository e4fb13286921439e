import SynSQLite
public import SynWire

/// The outbox: events and timers a call produced, written in the call's own transaction, so they exist exactly
/// when its writes do. After the commit the worker hands them to the host, which stores them once (it
/// de-duplicates by sequence number) and acknowledges; acknowledged rows are deleted by a later transaction.
extension AppStore {
    /// Adds an event (`OutboxRow.event`) or a timer (`OutboxRow.timer`) to the call's transaction. A row that could
    /// not travel alone in a message of `maxMessage` bytes is refused now, rather than stuck in the outbox.
    public func enqueue(kind: UInt32, type: [UInt8], payload: [UInt8], token: UInt64, dueNs: Int64, requestID: UInt64,
                        maxMessage: Int) throws(StoreFailure)
    {
        let size = OutboxRow(seq: 0, requestID: 0, kind: kind, type: type, payload: payload, token: 0, dueNs: 0).wireSize
        guard size + OutboxBatch.overhead <= maxMessage else {
            throw StoreFailure(SynStatus.tooLarge, "the event or timer takes \(size) bytes on the link; at most \(maxMessage - OutboxBatch.overhead) fit (profile key limits.max_frame_kb)")
        }
        _ = try kv("INSERT INTO syn_outbox(request_id, kind, type, payload, token, due_ns) VALUES (?, ?, ?, ?, ?, ?)",
                   [.integer(Int64(bitPattern: requestID)), .integer(Int64(kind)), .blob(type), .blob(payload),
                    .integer(Int64(bitPattern: token)), .integer(dueNs)])
        outboxPending = true
    }

    /// Committed rows the host has not acknowledged, oldest first, in one message of at most `maxMessage` bytes
    /// (every row fits alone: `enqueue` sees to it) and `OutboxBatch.maxRows` rows. Empty when there are none, or
    /// while a transaction is open; a failure to read leaves them pending.
    public func undelivered(maxMessage: Int) -> OutboxBatch {
        guard !began else { return OutboxBatch(epoch: outboxEpoch, rows: []) }
        let read: [[SQLValue]]
        do {
            read = try run("""
                SELECT seq, request_id, kind, type, payload, token, due_ns FROM syn_outbox WHERE seq > ? ORDER BY seq LIMIT ?
                """, [.integer(outboxAcknowledged), .integer(Int64(OutboxBatch.maxRows))])
        } catch {
            return OutboxBatch(epoch: outboxEpoch, rows: [])
        }
        let rows = read
        var batch: [OutboxRow] = []
        var bytes = OutboxBatch.overhead
        for r in rows {
            guard case .integer(let seq) = r[0], case .integer(let request) = r[1], case .integer(let kind) = r[2],
                  case .blob(let type) = r[3], case .blob(let payload) = r[4], case .integer(let token) = r[5],
                  case .integer(let due) = r[6] else { continue }
            let row = OutboxRow(seq: seq, requestID: UInt64(bitPattern: request), kind: UInt32(truncatingIfNeeded: kind),
                                type: type, payload: payload, token: UInt64(bitPattern: token), dueNs: due)
            if bytes + row.wireSize > maxMessage { break }
            bytes += row.wireSize
            batch.append(row)
        }
        if rows.isEmpty { outboxPending = false }
        return OutboxBatch(epoch: outboxEpoch, rows: batch)
    }

    /// The host has stored every row up to `seq`.
    public func acknowledge(through seq: Int64) {
        outboxAcknowledged = max(outboxAcknowledged, seq)
    }
}
