public import SynBroker
import SynLink
import NIOCore
import Synchronization

/// The receiving side of `net_send`: messages from peers, per (peer, app) stream, handed to the app one at a time
/// and in order through the node's `PeerInbox`, acknowledged once the app has applied them.
///
/// A stream holds at most `window` messages and `LinkFrame.maxStreamBytes` waiting for the app; a peer that sends
/// past that breaks the protocol, and its link closes. Nothing here is durable: what the app has not applied is
/// still in the sender's outbox, and comes again (the app's worker drops a message it applied before).
final class MessageReceiver: Sendable {
    struct Key: Hashable {
        let peer: String
        let app: String
    }

    private struct Stream {
        var queue: [(seq: UInt64, payload: [UInt8])] = []
        var head = 0
        var bytes = 0
        /// The last sequence queued in this stream (nil: none yet, or the queue was dropped at a gap).
        var lastQueued: UInt64?
        /// The last sequence the app applied, as its worker last said (`knowsApplied` once it has said anything).
        var applied: UInt64 = 0
        var knowsApplied = false
        /// Waiting messages handed to the app and not answered yet (the first `submitted` of the queue).
        var submitted = 0
        var inFlight = 0
        /// Set when a message was not applied (an error, or a gap): no more go until those in flight are answered.
        var halted = false
        var failures = 0
        var waiting: Int { queue.count - head }
    }

    /// Messages of one stream handed to the app before the first is answered: the app's queue runs them in order
    /// on one instance, and the thread hop between one answer and the next submission is not paid per message.
    static let pipeline = 32

    /// What to do with a message just received.
    enum Verdict: Equatable {
        /// Taken: it waits for the app.
        case taken
        /// Not taken: a repeat of one waiting here, or out of order (the sender goes back); it costs the peer's budget.
        case ignored
        /// Applied before: acknowledge through this sequence again (the earlier ack was lost).
        case ack(UInt64)
        /// Not taken: the app here does not take messages from this peer.
        case refused(String)
        /// The peer sent past the window: its link closes.
        case violation(String)
    }

    private let inbox: any PeerInbox
    private let window: Int
    private let group: any EventLoopGroup
    /// Sends `ack(app, seq)` to `peer` on its current link, if it has one.
    private let ack: @Sendable (_ peer: String, _ app: String, _ seq: UInt64) -> Void
    private let failed: @Sendable (_ peer: String, _ error: String) -> Void
    private let streams = Mutex<[Key: Stream]>([:])

    init(inbox: any PeerInbox, window: Int, group: any EventLoopGroup,
         ack: @escaping @Sendable (String, String, UInt64) -> Void, failed: @escaping @Sendable (String, String) -> Void) {
        self.inbox = inbox
        self.window = window
        self.group = group
        self.ack = ack
        self.failed = failed
    }

    /// Message `seq` of `app` from `peer`.
    func received(peer: String, app: String, seq: UInt64, payload: [UInt8]) -> Verdict {
        if let why = inbox.refusal(app: app, peer: peer) { return .refused(why) }
        let key = Key(peer: peer, app: app)
        let (verdict, start): (Verdict, Bool) = streams.withLock { all in
            var s = all[key] ?? Stream()
            defer { all[key] = s }
            if seq <= s.applied { return (.ack(s.applied), false) }
            // The one expected next: after the last queued, or the last applied, whichever is later (the app may
            // have applied messages this side never queued: a redelivery after a restart). Unknown for a new stream:
            // the app's worker then says where it stands. A repeat of one waiting here, or one past a message this
            // side dropped, is not taken: the sender goes back.
            let expected: UInt64? = s.knowsApplied ? max(s.lastQueued ?? 0, s.applied) + 1 : s.lastQueued.map { $0 + 1 }
            if let expected, seq != expected { return (.ignored, false) }
            guard s.waiting < window, s.bytes + payload.count <= LinkFrame.maxStreamBytes else {
                return (.violation("more than \(window) messages or \(LinkFrame.maxStreamBytes >> 20) MiB of app '\(app)' unacknowledged"), false)
            }
            s.queue.append((seq, payload))
            s.bytes += payload.count
            s.lastQueued = seq
            return (.taken, true)
        }
        if start { submit(key) }
        return verdict
    }

    /// Forgets `peer`'s streams (the owner removed it).
    func forget(peer: String) { streams.withLock { all in all = all.filter { $0.key.peer != peer } } }

    /// Hands the app the stream's next waiting messages, up to `pipeline` unanswered.
    private func submit(_ key: Key) {
        let batch: [(seq: UInt64, payload: [UInt8])] = streams.withLock { all in
            guard var s = all[key], !s.halted else { return [] }
            var out: [(seq: UInt64, payload: [UInt8])] = []
            while s.inFlight < Self.pipeline && s.submitted < s.waiting {
                out.append(s.queue[s.head + s.submitted])
                s.submitted += 1
                s.inFlight += 1
            }
            all[key] = s
            return out
        }
        for next in batch {
            inbox.deliver(app: key.app, peer: key.peer, seq: next.seq, payload: next.payload) { [self] outcome in
                delivered(key, outcome)
            }
        }
    }

    private func delivered(_ key: Key, _ outcome: PeerDelivery) {
        enum Then { case submit(ack: UInt64?), retry(afterMs: Int64, error: String), wait, dropped(ack: UInt64?, next: UInt64) }
        let then: Then = streams.withLock { all in
            var s = all[key] ?? Stream()
            defer { all[key] = s }
            s.inFlight -= 1
            var failure: String?
            switch outcome {
            case .applied(let applied), .duplicate(let applied):
                s.applied = max(s.applied, applied)
                s.knowsApplied = true
            case .gap(let applied):
                s.applied = max(s.applied, applied)
                s.knowsApplied = true
                s.halted = true
            case .failed(let why):
                s.failures += 1
                s.halted = true
                failure = why
            }
            // What the app has applied leaves the queue.
            while s.waiting > 0 && s.queue[s.head].seq <= s.applied {
                s.bytes -= s.queue[s.head].payload.count
                s.head += 1
                s.submitted = max(0, s.submitted - 1)
            }
            if s.head > 64 && s.head * 2 > s.queue.count {
                s.queue.removeFirst(s.head)
                s.head = 0
            }
            let ack: UInt64? = s.applied > 0 ? s.applied : nil
            guard s.halted else {
                s.failures = 0
                return .submit(ack: ack)
            }
            // Halted: once every message in flight is answered, go again from the first one not applied.
            guard s.inFlight == 0 else { return failure.map { .retry(afterMs: -1, error: $0) } ?? .wait }
            s.halted = false
            s.submitted = 0
            if s.failures > 0 {
                return .retry(afterMs: min(30_000, 100 << min(s.failures, 9)), error: failure ?? "an earlier message failed")
            }
            // A gap: the app needs an earlier message than this side holds. Drop the queue; the sender goes back
            // to what is unacknowledged when it sees no progress.
            if s.waiting > 0 && s.queue[s.head].seq != s.applied + 1 {
                s.queue = []
                s.head = 0
                s.bytes = 0
                s.lastQueued = nil
                return .dropped(ack: ack, next: s.applied + 1)
            }
            return .submit(ack: ack)
        }
        switch then {
        case .submit(let ack):
            if let ack { self.ack(key.peer, key.app, ack) }
            submit(key)
        case .retry(let ms, let error):
            failed(key.peer, "app '\(key.app)' did not take a message: \(error)")
            if ms >= 0 { group.next().scheduleTask(in: .milliseconds(ms)) { [self] in submit(key) } }
        case .wait:
            break
        case .dropped(let ack, let next):
            if let ack { self.ack(key.peer, key.app, ack) }
            failed(key.peer, "app '\(key.app)' needs message \(next) first; waiting for the peer to send it again")
        }
    }
}
