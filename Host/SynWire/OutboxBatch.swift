/// Events and timers a worker committed to its app's outbox, handed to the host after the commit in one `hostCall`
/// (op `HostOp.outbox`); the host answers with the last sequence number it has stored, and de-duplicates re-sends.
public struct OutboxBatch: Sendable, Equatable {
    /// The outbox's identity in its database: sequence numbers count within one epoch.
    public var epoch: [UInt8]
    public var rows: [OutboxRow]

    public init(epoch: [UInt8], rows: [OutboxRow]) {
        self.epoch = epoch
        self.rows = rows
    }

    /// Bytes of a batch besides its rows (epoch of up to 64 bytes, counts) and of the frame header around it.
    public static let overhead = 20 + 4 + 64 + 4

    /// Most rows in one batch.
    public static let maxRows = 1000
    /// The `event` call kind with which the host asks a worker to hand over what its outbox still holds (rows a call
    /// near its deadline left behind). The app never sees it.
    public static let flushEventKind: UInt32 = 0

    public func encode() -> [UInt8] {
        var w = WireWriter()
        w.data(epoch)
        w.u32(UInt32(rows.count))
        for row in rows {
            w.u64(UInt64(bitPattern: row.seq)); w.u64(row.requestID); w.u32(row.kind)
            w.data(row.type); w.data(row.payload); w.u64(row.token); w.u64(UInt64(bitPattern: row.dueNs))
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> OutboxBatch {
        var r = WireReader(bytes)
        let epoch = try r.data(limit: 64)
        let count = Int(try r.u32())
        guard count <= maxRows else { throw WireError(.badPayload, "an outbox batch holds at most \(maxRows) rows") }
        var rows: [OutboxRow] = []
        rows.reserveCapacity(count)
        for _ in 0..<count {
            rows.append(OutboxRow(seq: Int64(bitPattern: try r.u64()), requestID: try r.u64(), kind: try r.u32(),
                                  type: try r.data(limit: 1024), payload: try r.data(), token: try r.u64(),
                                  dueNs: Int64(bitPattern: try r.u64())))
        }
        guard r.remaining == 0 else { throw WireError(.badPayload, "bytes after the outbox batch") }
        return OutboxBatch(epoch: epoch, rows: rows)
    }
}

/// One outbox row: an event (`kind` 1, `type` and JSON `payload`), a timer (`kind` 2, `token`, `dueNs` wall-clock
/// nanoseconds, `payload`) or a message to a peer node (`kind` 3, `type` the peer's node id, `payload`), written in
/// the call `requestID`.
public struct OutboxRow: Sendable, Equatable {
    public var seq: Int64
    public var requestID: UInt64
    public var kind: UInt32
    public var type: [UInt8]
    public var payload: [UInt8]
    public var token: UInt64
    public var dueNs: Int64

    public static let event: UInt32 = 1
    public static let timer: UInt32 = 2
    public static let net: UInt32 = 3

    public init(seq: Int64, requestID: UInt64, kind: UInt32, type: [UInt8], payload: [UInt8], token: UInt64, dueNs: Int64) {
        self.seq = seq
        self.requestID = requestID
        self.kind = kind
        self.type = type
        self.payload = payload
        self.token = token
        self.dueNs = dueNs
    }

    /// Bytes on the link, for sizing a batch.
    public var wireSize: Int { 44 + type.count + payload.count }
}
