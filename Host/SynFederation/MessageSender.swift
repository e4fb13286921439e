import SynBroker
import SynLink
import SynSystem

/// The sending side of `net_send` on one link: reads each app's messages for the peer from `node.db` (where the
/// apps' committed outboxes put them) in sequence order and keeps at most the peer's window of them, and
/// `LinkFrame.maxStreamBytes`, unacknowledged per app. An ack deletes what it covers. A new link starts again from the
/// oldest unacknowledged message, and so does a stream that saw no ack for `stallNs`: the receiver drops what it
/// has applied already. Confined to the link's event loop.
struct MessageSender {
    struct Stream {
        /// The last sequence acknowledged, and the last deleted from node.db (deletes are batched).
        var acked: UInt64 = 0
        var deleted: UInt64 = 0
        /// The last sequence sent on this link.
        var sent: UInt64 = 0
        /// Sent and not acknowledged: sequence and payload size, oldest first.
        var inFlight: [(seq: UInt64, bytes: Int)] = []
        var bytes = 0
        /// When the stream last made progress (`MonotonicClock`).
        var progressNs: Int64 = 0
    }

    let peer: String
    let store: EventStore
    /// Messages the peer lets this side have unacknowledged per app (its hello's window).
    var window = 0
    var streams: [String: Stream] = [:]
    /// Acknowledged messages are deleted from node.db this many at a time (and when a stream has none in flight):
    /// one not deleted yet when the node stops is sent again, and the peer drops it.
    static let deleteBatch: UInt64 = 32

    init(peer: String, store: EventStore) {
        self.peer = peer
        self.store = store
    }

    /// Messages to send now: every app's, after what is in flight, within the window. `retried` counts the ones
    /// sent before (per `highest`, the highest sequence sent so far per app).
    mutating func next(apps: [String]? = nil, highest: inout [String: UInt64]) -> (frames: [(app: String, seq: UInt64, payload: [UInt8])], retried: Int) {
        guard window > 0 else { return ([], 0) }
        let names = apps ?? store.netApps(peer: peer)
        var frames: [(app: String, seq: UInt64, payload: [UInt8])] = []
        var retried = 0
        for app in names {
            var s = streams[app] ?? Stream(progressNs: MonotonicClock.nowNs())
            let room = window - s.inFlight.count
            if room > 0 && s.bytes < LinkFrame.maxStreamBytes {
                let batch = store.netPending(peer: peer, app: app, after: max(s.sent, s.acked), limit: min(room, 256),
                                             maxBytes: LinkFrame.maxStreamBytes - s.bytes)
                for m in batch {
                    frames.append((app, m.seq, m.payload))
                    s.inFlight.append((m.seq, m.payload.count))
                    s.bytes += m.payload.count
                    s.sent = m.seq
                    if m.seq <= highest[app, default: 0] { retried += 1 } else { highest[app] = m.seq }
                }
            }
            streams[app] = s
        }
        return (frames, retried)
    }

    /// The peer applied `app`'s messages through `seq`. Returns how many in-flight messages that covered.
    mutating func acked(app: String, through seq: UInt64) -> Int {
        guard var s = streams[app], seq > s.acked else { return 0 }
        s.acked = seq
        var covered = 0
        while let first = s.inFlight.first, first.seq <= seq {
            s.inFlight.removeFirst()
            s.bytes -= first.bytes
            covered += 1
        }
        s.progressNs = MonotonicClock.nowNs()
        if s.inFlight.isEmpty || seq - s.deleted >= Self.deleteBatch {
            store.netAcknowledged(peer: peer, app: app, through: seq)
            s.deleted = seq
        }
        streams[app] = s
        return covered
    }

    /// Deletes what was acknowledged and not deleted yet (the link is closing).
    mutating func flushDeletes() {
        for (app, s) in streams where s.acked > s.deleted {
            store.netAcknowledged(peer: peer, app: app, through: s.acked)
            streams[app]?.deleted = s.acked
        }
    }

    /// Streams with messages in flight and no ack for `stallNs` start again after their last ack. Returns how many.
    mutating func rewindStalled(stallNs: Int64) -> Int {
        let now = MonotonicClock.nowNs()
        var rewound = 0
        for (app, s) in streams where !s.inFlight.isEmpty && now - s.progressNs > stallNs {
            streams[app] = Stream(acked: s.acked, deleted: s.deleted, sent: s.acked, inFlight: [], bytes: 0, progressNs: now)
            rewound += 1
        }
        return rewound
    }
}
