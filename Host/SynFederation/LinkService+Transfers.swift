import Dispatch
import Logging
import NIOCore
import SynBroker
import SynLink
import SynSodium
import SynSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Apps moving between nodes over their links (link version 2). The sending side keeps each transfer until the
/// receiver answers it, whatever happens to the links: every new link offers it again, and the receiver says where
/// to go on from. The receiving side writes `<dir>/<peer>-<id>.part`, checks the whole file's SHA-256 against the
/// offer, has the node install it, and keeps the answer (`.done`) for a sender that missed it.
extension LinkService {
    /// Incoming transfers at once, from all peers: each holds a file growing on disk.
    static let maxIncoming = 2

    /// Where this node's apps go and come from; set once the node's migrations exist.
    public func attach(transfers: any AppTransfers) {
        state.withLock { $0.transferSink = transfers }
        Self.prune(directory: transfers.transferDirectory)
        // Answers are kept a year and parts a week: pruned at start, and daily.
        let directory = transfers.transferDirectory
        anyLoop().scheduleRepeatedTask(initialDelay: .hours(24), delay: .hours(24)) { _ in
            DispatchQueue.global().async { Self.prune(directory: directory) }
        }
    }

    var transferSink: (any AppTransfers)? { state.withLock { $0.transferSink } }

    /// Sends `transfer` to its peer, now if a link is up, else on the next one. Sending it again is harmless.
    public func send(_ transfer: OutgoingTransfer) {
        let channel = state.withLock { s -> (any Channel)? in
            if s.outgoing[transfer.id] == nil { s.outgoing[transfer.id] = OutgoingState(transfer: transfer) }
            return s.links[transfer.peer]?.channel
        }
        channel?.pipeline.fireUserInboundEventTriggered(LinkHandler.OfferTransfers())
    }

    /// What `cancelTransfer` did.
    public enum Cancelled: Sendable, Equatable {
        /// Given up; the receiver is told and drops what it has.
        case cancelled
        /// No such transfer (its answer came first).
        case unknown
        /// Every byte went out, and `force` was not given: the receiver may be installing it.
        case allSent
    }

    /// Gives transfer `id` up, unless every byte went out already (then only with `force`), in one step with the
    /// check.
    @discardableResult
    public func cancelTransfer(_ id: UInt64, force: Bool = false) -> Cancelled {
        let (outcome, channel) = state.withLock { s -> (Cancelled, (any Channel)?) in
            guard let t = s.outgoing[id] else { return (.unknown, nil) }
            guard force || (!t.sentAll && t.acked < t.transfer.size) else { return (.allSent, nil) }
            s.outgoing[id] = nil
            return (.cancelled, s.links[t.transfer.peer]?.channel)
        }
        channel?.pipeline.fireUserInboundEventTriggered(LinkHandler.CancelTransfer(id: id))
        return outcome
    }

    public func transferProgress(_ id: UInt64) -> TransferProgress? {
        state.withLock { s in
            s.outgoing[id].map { TransferProgress(size: $0.transfer.size, acked: $0.acked, resumedAt: $0.resumedAt, started: $0.started) }
        }
    }

    // MARK: - Sending (called by LinkHandler)

    func outgoing(to peer: String) -> [OutgoingTransfer] {
        state.withLock { s in s.outgoing.values.filter { $0.transfer.peer == peer }.map(\.transfer).sorted { $0.id < $1.id } }
    }

    func isOutgoing(_ id: UInt64) -> Bool { state.withLock { $0.outgoing[id] != nil } }

    /// The receiver answered an offer (a new link): it holds `have` bytes.
    func transferStarted(_ id: UInt64, at have: UInt64, on link: ObjectIdentifier) {
        state.withLock { s in
            s.outgoing[id]?.started = true
            s.outgoing[id]?.startedOn = link
            s.outgoing[id]?.acked = have
            s.outgoing[id]?.resumedAt = have
        }
    }

    func transferAcked(_ id: UInt64, _ have: UInt64) {
        state.withLock { s in
            if let acked = s.outgoing[id]?.acked, have > acked { s.outgoing[id]?.acked = have }
        }
    }

    /// Every byte of transfer `id` went out on a link.
    func transferSentAll(_ id: UInt64) {
        guard let (transfer, sink) = state.withLock({ s -> (OutgoingTransfer, (any AppTransfers)?)? in
            guard let t = s.outgoing[id], !t.sentAll else { return nil }
            s.outgoing[id]?.sentAll = true
            return (t.transfer, s.transferSink)
        }) else { return }
        DispatchQueue.global().async { sink?.allSent(transfer) }
    }

    /// The link that carried the transfer closed: it waits for the next one.
    /// Link `link` closed: the transfers it carried wait for the next one (not those a newer link carries already).
    func transferUnlinked(_ ids: [UInt64], link: ObjectIdentifier) {
        state.withLock { s in
            for id in ids where s.outgoing[id]?.startedOn == link {
                s.outgoing[id]?.started = false
                s.outgoing[id]?.startedOn = nil
            }
        }
    }

    /// What became of an answer to an outgoing transfer.
    enum Ended { case taken, unknown, early }

    /// The receiver answered transfer `id` for good (or this node could not read its file). A yes counts only once
    /// the receiver has said it holds every byte (`early` otherwise); an answer for a transfer this node no longer
    /// has is `unknown` (a late yes is logged: both nodes may serve the app).
    @discardableResult
    func outgoingEnded(_ id: UInt64, peer: String, ok: Bool, message: String) -> Ended {
        let (outcome, transfer, sink) = state.withLock { s -> (Ended, OutgoingTransfer?, (any AppTransfers)?) in
            guard let t = s.outgoing[id], t.transfer.peer == peer else { return (.unknown, nil, nil) }
            guard !ok || t.acked >= t.transfer.size else { return (.early, nil, nil) }
            s.outgoing[id] = nil
            return (.taken, t.transfer, s.transferSink)
        }
        if outcome == .unknown && ok {
            logger.error("a peer installed an app whose transfer this node had given up: both may serve it", metadata: ["peer": "\(peer)", "transfer": "\(id)"])
        }
        if let transfer { DispatchQueue.global().async { sink?.ended(transfer, ok: ok, message: message) } }
        return outcome
    }

    /// Takes `count` bytes from the node's sending pace (shared by every link, so the pace binds the node, not each
    /// link); nil when they are taken, else how long to wait for them.
    func takePace(_ count: Int, rate: Double) -> Int64? {
        state.withLock { s in
            let now = MonotonicClock.nowNs()
            s.pace = (min(max(rate, Double(count)), s.pace.tokens + Double(now - s.pace.atNs) / 1e9 * rate), now)
            guard s.pace.tokens >= Double(count) else { return Int64((Double(count) - s.pace.tokens) / rate * 1e9) }
            s.pace.tokens -= Double(count)
            return nil
        }
    }

    // MARK: - Receiving (called by LinkHandler)

    enum Claim { case claimed, busy, finishing }

    /// The smallest transfer taken: no app's bundle (a package and a key at least) is smaller.
    static let minTransfer: UInt64 = 1024
    /// Partial files a peer may leave here besides the ones being written.
    static let maxPartialsPerPeer = 2

    /// Takes a slot for `peer`'s transfer `id` on the link `owner`. A slot another link still holds (one being
    /// replaced) is busy: the sender offers again at its next ping.
    func claimIncoming(_ peer: String, _ id: UInt64, size: UInt64, owner: ObjectIdentifier) -> Claim {
        state.withLock { s in
            let key = "\(peer)/\(id)"
            switch s.incoming[key] {
            case .finishing?: return .finishing
            case .receiving(let holder, _)? where holder == owner: return .claimed
            case .receiving?: return .busy
            case nil: break
            }
            guard s.incoming.count < Self.maxIncoming else { return .busy }
            s.incoming[key] = .receiving(owner, size: size)
            return .claimed
        }
    }

    /// The bytes of the other transfers arriving or being installed (besides `peer`'s `id`): their bundles, and
    /// the apps unpacked from them, need room too.
    func arrivingBytes(besides peer: String, _ id: UInt64) -> UInt64 {
        state.withLock { s in
            s.incoming.filter { $0.key != "\(peer)/\(id)" }.values.reduce(UInt64(0)) { $0 &+ $1.size }
        }
    }

    /// Frees the slot link `owner` held for `peer`'s transfer `id` (not one being installed, nor another link's).
    func releaseIncoming(_ peer: String, _ id: UInt64, owner: ObjectIdentifier) {
        state.withLock { s in
            let key = "\(peer)/\(id)"
            if case .receiving(let holder, _)? = s.incoming[key], holder == owner { s.incoming[key] = nil }
        }
    }

    func isFinishing(_ peer: String, _ id: UInt64) -> Bool {
        state.withLock { if case .finishing? = $0.incoming["\(peer)/\(id)"] { true } else { false } }
    }

    static func partPath(_ directory: String, _ peer: String, _ id: UInt64) -> String { "\(directory)/\(peer)-\(id).part" }
    static func donePath(_ directory: String, _ peer: String, _ id: UInt64) -> String { "\(directory)/\(peer)-\(id).done" }
    static func installingPath(_ directory: String, _ peer: String, _ id: UInt64) -> String { "\(directory)/\(peer)-\(id).installing" }

    /// Removes `peer`'s partial files but the newest `maxPartialsPerPeer` (and `keeping`): a peer that starts
    /// transfers and leaves cannot fill the disk with them.
    func prunePartials(of peer: String, keeping id: UInt64, directory: String) {
        let claimed = state.withLock { s in Set(s.incoming.keys) }
        var parts: [(path: String, time: Int)] = []
        for name in Self.names(in: directory) where name.hasPrefix(peer + "-") && name.hasSuffix(".part") {
            let idText = name.dropFirst(peer.count + 1).dropLast(5)
            guard let other = UInt64(idText), other != id, !claimed.contains("\(peer)/\(other)") else { continue }
            var st = stat()
            if stat(directory + "/" + name, &st) == 0 { parts.append((directory + "/" + name, st.st_mtim.tv_sec)) }
        }
        for old in parts.sorted(by: { $0.time > $1.time }).dropFirst(Self.maxPartialsPerPeer) { unlink(old.path) }
    }

    /// The names in `directory` (none when it cannot be read).
    static func names(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            out.append(withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        return out
    }

    /// The answer given to `peer`'s transfer `id`, if it was answered.
    func finished(_ peer: String, _ id: UInt64, directory: String) -> (ok: Bool, message: String)? {
        guard let text = Self.readRecord(Self.donePath(directory, peer, id), maxBytes: 1024) else { return nil }
        return (text.hasPrefix("ok\n"), String(text.drop { $0 != "\n" }.dropFirst()))
    }

    /// The start of the small file `writeRecord` wrote at `path`, at most `maxBytes`; nil when there is none.
    static func readRecord(_ path: String, maxBytes: Int) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        let n = read(fd, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    /// The whole of `peer`'s transfer `id` is in its `.part` file: off the event loop, it is synced and its digest
    /// checked, the node installs it (an `.installing` marker says so until the answer is kept in `.done`), and the
    /// answer is sent, after a `transferAt` for the whole size, which the sender wants before it takes a yes.
    func finishIncoming(_ peer: String, _ id: UInt64, app: String, size: UInt64, digest: [UInt8], key: [UInt8], directory: String) {
        state.withLock { $0.incoming["\(peer)/\(id)"] = .finishing(size: $0.incoming["\(peer)/\(id)"]?.size ?? 0) }
        let sink = transferSink
        DispatchQueue.global().async { [self] in
            let part = Self.partPath(directory, peer, id)
            let synced = open(part, O_RDONLY | O_CLOEXEC)
            if synced >= 0 { fsync(synced); close(synced) }
            let outcome: (ok: Bool, message: String)?
            if (try? FileDigest.sha256(path: part)) != digest {
                outcome = (false, "the bundle received does not match the SHA-256 offered; run the migration again")
            } else if let sink {
                let marker = Self.installingPath(directory, peer, id)
                Self.writeRecord(marker, app)
                outcome = sink.arrived(app: app, path: part, key: key, from: peer)
                if outcome == nil { unlink(marker) }
            } else {
                outcome = (false, "this node takes no apps over its links")
            }
            guard let outcome else {
                // Not now (the node is stopping): the part stays, and the sender's next offer finishes it.
                state.withLock { _ = $0.incoming.removeValue(forKey: "\(peer)/\(id)") }
                return
            }
            // The answer is kept before the marker and the part go: a crash in between never loses it.
            Self.writeRecord(Self.donePath(directory, peer, id), (outcome.ok ? "ok\n" : "failed\n") + outcome.message)
            unlink(Self.installingPath(directory, peer, id))
            unlink(part)
            state.withLock { _ = $0.incoming.removeValue(forKey: "\(peer)/\(id)") }
            if outcome.ok { send(.transferAt(id: id, have: size), to: peer) }
            send(.transferEnd(id: id, ok: outcome.ok, message: Self.clip(outcome.message)), to: peer)
        }
    }

    /// Writes `text` (at most 1000 bytes) to `path`, synced, through a temporary file.
    static func writeRecord(_ path: String, _ text: String) {
        let fd = open(path + ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = Array(text.utf8.prefix(1000)).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        rename(path + ".tmp", path)
    }

    /// The app an interrupted install of `peer`'s transfer `id` was installing, if one was.
    func interruptedInstall(_ peer: String, _ id: UInt64, directory: String) -> String? {
        Self.readRecord(Self.installingPath(directory, peer, id), maxBytes: 128)
    }

    /// A peer says `app` moved from it to `to`: what waits here for `app` on `peer`, and what is sent to it later,
    /// goes to `to`, when `to` is one of this node's peers and this node has a stream to `app` on `peer` (a peer
    /// cannot redirect what this node never sent it). Off the event loop; audited when something was redirected,
    /// or could have been.
    func appMoved(_ app: String, from peer: String, to: String) {
        guard peers.contains(peer), let outbox else { return }
        let sink = transferSink
        DispatchQueue.global().async { [self] in
            guard outbox.hasStream(peer: peer, app: app) else { return }
            var moved = 0
            if peers.contains(to), sink?.maySend(app: app, to: to) ?? false {
                moved = outbox.retarget(app: app, from: peer, to: to)
                if moved > 0 { messagesCommitted(for: [to]) }
            }
            sink?.peerAppMoved(app: app, from: peer, to: to, retargeted: moved)
        }
    }

    /// `text`, at most `LinkFrame.maxText` bytes of it, cut on a character, without control characters.
    static func clip(_ text: String) -> String {
        var out = ""
        var bytes = 0
        for c in text.unicodeScalars {
            let s = c.value < 0x20 || c.value == 0x7f ? " " : String(c)
            guard bytes + s.utf8.count <= LinkFrame.maxText else { break }
            bytes += s.utf8.count
            out += s
        }
        return out
    }

    /// Partial transfers nobody came back for in a week, and answers older than a year, go.
    static func prune(directory: String) {
        let now = time(nil)
        for name in names(in: directory) {
            let limit: Int = name.hasSuffix(".part") ? 7 * 86_400 : name.hasSuffix(".done") ? 365 * 86_400 : -1
            guard limit > 0 else { continue }
            var st = stat()
            let path = directory + "/" + name
            if stat(path, &st) == 0, now - st.st_mtim.tv_sec > limit { unlink(path) }
        }
    }
}

/// An outgoing transfer as the link service keeps it across links.
struct OutgoingState {
    let transfer: OutgoingTransfer
    var acked: UInt64 = 0
    var resumedAt: UInt64 = 0
    var started = false
    /// The link the receiver answered the offer on.
    var startedOn: ObjectIdentifier?
    var sentAll = false
}

/// A peer's transfer here: being written by a link, or whole and being installed.
enum IncomingClaim: Equatable {
    case receiving(ObjectIdentifier, size: UInt64)
    case finishing(size: UInt64)

    /// The bundle's size, as offered.
    var size: UInt64 {
        switch self {
        case .receiving(_, let size), .finishing(let size): size
        }
    }
}
