import Dispatch
import NIOCore
import SynBroker
import SynLink
import SynSodium
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

    /// Gives transfer `id` up: the receiver is told and drops what it has. False when there is none.
    @discardableResult
    public func cancelTransfer(_ id: UInt64) -> Bool {
        let (found, channel) = state.withLock { s -> (Bool, (any Channel)?) in
            guard let t = s.outgoing.removeValue(forKey: id) else { return (false, nil) }
            return (true, s.links[t.transfer.peer]?.channel)
        }
        channel?.pipeline.fireUserInboundEventTriggered(LinkHandler.CancelTransfer(id: id))
        return found
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
    func transferStarted(_ id: UInt64, at have: UInt64) {
        state.withLock { s in
            s.outgoing[id]?.started = true
            s.outgoing[id]?.acked = have
            s.outgoing[id]?.resumedAt = have
        }
    }

    func transferAcked(_ id: UInt64, _ have: UInt64) { state.withLock { $0.outgoing[id]?.acked = have } }

    /// The link that carried the transfer closed: it waits for the next one.
    func transferUnlinked(_ ids: [UInt64]) { state.withLock { s in for id in ids { s.outgoing[id]?.started = false } } }

    /// The receiver answered transfer `id` for good (or this node could not read its file).
    func outgoingEnded(_ id: UInt64, peer: String, ok: Bool, message: String) {
        guard let (transfer, sink) = state.withLock({ s -> (OutgoingTransfer, (any AppTransfers)?)? in
            guard let t = s.outgoing[id], t.transfer.peer == peer else { return nil }
            s.outgoing[id] = nil
            return (t.transfer, s.transferSink)
        }) else { return }
        DispatchQueue.global().async { sink?.ended(transfer, ok: ok, message: message) }
    }

    // MARK: - Receiving (called by LinkHandler)

    enum Claim { case claimed, busy, finishing }

    /// Takes a slot for `peer`'s transfer `id` (one it had on an earlier link is taken again).
    func claimIncoming(_ peer: String, _ id: UInt64) -> Claim {
        state.withLock { s in
            let key = "\(peer)/\(id)"
            if let c = s.incoming[key] { return c ? .finishing : .claimed }
            guard s.incoming.count < Self.maxIncoming else { return .busy }
            s.incoming[key] = false
            return .claimed
        }
    }

    func releaseIncoming(_ peer: String, _ id: UInt64) {
        state.withLock { s in
            let key = "\(peer)/\(id)"
            if s.incoming[key] == false { s.incoming[key] = nil }
        }
    }

    static func partPath(_ directory: String, _ peer: String, _ id: UInt64) -> String { "\(directory)/\(peer)-\(id).part" }
    static func donePath(_ directory: String, _ peer: String, _ id: UInt64) -> String { "\(directory)/\(peer)-\(id).done" }

    /// The answer given to `peer`'s transfer `id`, if it was answered.
    func finished(_ peer: String, _ id: UInt64, directory: String) -> (ok: Bool, message: String)? {
        let fd = open(Self.donePath(directory, peer, id), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self)
        let ok = text.hasPrefix("ok\n")
        return (ok, String(text.drop { $0 != "\n" }.dropFirst()))
    }

    /// The whole of `peer`'s transfer `id` is in its `.part` file: off the event loop, its digest is checked, the
    /// node installs it, the answer is kept and sent.
    func finishIncoming(_ peer: String, _ id: UInt64, app: String, digest: [UInt8], key: [UInt8], directory: String) {
        state.withLock { $0.incoming["\(peer)/\(id)"] = true }
        let sink = transferSink
        DispatchQueue.global().async { [self] in
            let part = Self.partPath(directory, peer, id)
            let outcome: (ok: Bool, message: String)
            if Self.sha256(file: part) != digest {
                outcome = (false, "the bundle received does not match the SHA-256 offered; run the migration again")
            } else if let sink {
                outcome = sink.arrived(app: app, path: part, key: key, from: peer)
            } else {
                outcome = (false, "this node takes no apps over its links")
            }
            let record = (outcome.ok ? "ok\n" : "failed\n") + outcome.message
            let done = Self.donePath(directory, peer, id)
            let fd = open(done + ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            if fd >= 0 {
                _ = Array(record.utf8.prefix(1000)).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                fsync(fd)
                close(fd)
                rename(done + ".tmp", done)
            }
            unlink(part)
            state.withLock { _ = $0.incoming.removeValue(forKey: "\(peer)/\(id)") }
            send(.transferEnd(id: id, ok: outcome.ok, message: Self.clip(outcome.message)), to: peer)
        }
    }

    /// A peer says `app` moved from it to `to`: what waits here for `app` on `peer` waits for `to` instead, when
    /// `to` is one of this node's peers.
    func appMoved(_ app: String, from peer: String, to: String) {
        var moved = 0
        if peers.contains(to), let outbox {
            moved = outbox.retarget(app: app, from: peer, to: to)
            if moved > 0 { messagesCommitted(for: [to]) }
        }
        let sink = transferSink, retargeted = moved
        DispatchQueue.global().async { sink?.peerAppMoved(app: app, from: peer, to: to, retargeted: retargeted) }
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

    static func sha256(file path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var hash = SHA256Stream()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { return hash.finish() }
            buffer.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// Partial transfers nobody came back for in a week, and answers older than a month, go.
    static func prune(directory: String) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        let now = time(nil)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let limit: Int = name.hasSuffix(".part") ? 7 * 86_400 : name.hasSuffix(".done") ? 30 * 86_400 : -1
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
}
