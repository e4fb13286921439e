import Logging
import NIOCore
import SynLink
import SynSystem
#if canImport(Glibc)
import Glibc
#endif

/// One link's side of app transfers (`LinkService+Transfers`): offering this node's, sending their bytes within the
/// receiver's window and the node's pace (`[migration] max_send_kb_per_s`), and writing a peer's to disk. Confined
/// to the link's event loop. Reading and writing a chunk (64 KiB, usually in the page cache) happen on the loop;
/// hashing and installing the whole bundle do not.
struct TransferLink {
    struct Sending {
        let transfer: OutgoingTransfer
        var fd: Int32 = -1
        /// The next byte to send, and the last the receiver said it holds.
        var next: UInt64 = 0
        var acked: UInt64 = 0
        /// The receiver answered this link's offer.
        var started = false
    }

    struct Receiving {
        let app: String
        let size: UInt64
        let digest: [UInt8]
        let key: [UInt8]
        let fd: Int32
        var have: UInt64
        var told: UInt64
    }

    var sending: [UInt64: Sending] = [:]
    var receiving: [UInt64: Receiving] = [:]
    var pumpScheduled = false
    /// Apps this link was told moved, and those it told the peer moved; apps whose offer it refused (audited once).
    /// Each holds at most `maxRemembered`: past that, a peer's repeats are dropped (and refusals not audited).
    var heardMoved: Set<String> = []
    var toldMoved: Set<String> = []
    var refused: Set<String> = []
    static let maxRemembered = 256

    /// Inserts `app` into `set` while it has room; true when it was new.
    static func remember(_ app: String, in set: inout Set<String>) -> Bool {
        guard set.count < maxRemembered || set.contains(app) else { return false }
        return set.insert(app).inserted
    }

    /// Closes every file (the link is closing).
    mutating func closeAll() -> [UInt64] {
        for s in sending.values where s.fd >= 0 { close(s.fd) }
        for r in receiving.values { close(r.fd) }
        let started = sending.values.filter(\.started).map(\.transfer.id)
        sending = [:]
        receiving = [:]
        return started
    }
}

extension LinkHandler {
    /// Sent through the pipeline when the node has a transfer for the peer.
    struct OfferTransfers: Sendable {}
    /// Sent through the pipeline when the node gave transfer `id` up.
    struct CancelTransfer: Sendable { let id: UInt64 }

    var transfersAllowed: Bool { helloReceived && !closing && version >= LinkVersion.transfers }

    /// Offers the peer every transfer for it not yet answered on this link.
    func offerTransfers(context: ChannelHandlerContext) {
        guard transfersAllowed, let peerID else { return }
        var any = false
        for t in service.outgoing(to: peerID) where transfers.sending[t.id]?.started != true {
            if transfers.sending[t.id] == nil { transfers.sending[t.id] = TransferLink.Sending(transfer: t) }
            context.write(wrapOutboundOut(.transferOffer(id: t.id, app: t.app, size: t.size, digest: t.digest, key: t.key)), promise: nil)
            any = true
        }
        if any { context.flush() }
    }

    func cancelTransfer(_ id: UInt64, context: ChannelHandlerContext) {
        guard let s = transfers.sending.removeValue(forKey: id) else { return }
        if s.fd >= 0 { close(s.fd) }
        if transfersAllowed && context.channel.isWritable {
            context.writeAndFlush(wrapOutboundOut(.transferEnd(id: id, ok: false, message: "cancelled by its sender")), promise: nil)
        }
    }

    /// The receiver holds `have` bytes of transfer `id`.
    func transferAt(_ id: UInt64, have: UInt64, context: ChannelHandlerContext, peer: String) {
        guard var s = transfers.sending[id], service.isOutgoing(id) else { return }
        guard have <= s.transfer.size, !s.started || have <= s.next else {
            return violation(context, peer, "a transfer position past what was sent")
        }
        if !s.started {
            s.started = true
            s.next = have
            s.acked = have
            service.transferStarted(id, at: have, on: ObjectIdentifier(context.channel))
        } else {
            s.acked = max(s.acked, have)
            service.transferAcked(id, have)
        }
        transfers.sending[id] = s
        pumpTransfers(context: context)
    }

    /// Sends bytes of the started transfers while the receiver's window, the socket and the pace allow.
    func pumpTransfers(context: ChannelHandlerContext) {
        guard transfersAllowed, let peerID else { return }
        let rate = Double(service.transferPace)
        // Under a pace, a chunk is at most a second's worth: the pace's bucket holds no more.
        let frameLimit = min(LinkFrame.maxPayload, peerMaxFrame - 64)
        let chunkLimit = UInt64(rate > 0 ? min(frameLimit, max(1024, Int(rate))) : frameLimit)
        var wrote = false
        outer: for id in transfers.sending.keys.sorted() {
            guard var s = transfers.sending[id], s.started else { continue }
            while s.next < s.transfer.size && s.next - s.acked < UInt64(LinkFrame.transferWindow) && context.channel.isWritable {
                let count = Int(min(chunkLimit, s.transfer.size - s.next))
                if rate > 0, let waitNs = service.takePace(count, rate: rate) {
                    transfers.sending[id] = s
                    schedulePump(context: context, afterNs: waitNs)
                    break outer
                }
                if s.fd < 0 { s.fd = open(s.transfer.path, O_RDONLY | O_CLOEXEC) }
                var bytes = [UInt8](repeating: 0, count: count)
                let n = s.fd < 0 ? -1 : bytes.withUnsafeMutableBytes { pread(s.fd, $0.baseAddress, count, off_t(s.next)) }
                guard n == count else {
                    // The bundle here is gone or shorter than offered: the transfer cannot go on.
                    let why = "the sending node cannot read its bundle \(s.transfer.path) (errno \(errno))"
                    if s.fd >= 0 { close(s.fd) }
                    transfers.sending[id] = nil
                    context.write(wrapOutboundOut(.transferEnd(id: id, ok: false, message: LinkService.clip(why))), promise: nil)
                    service.outgoingEnded(id, peer: peerID, ok: false, message: why)
                    wrote = true
                    continue outer
                }
                context.write(wrapOutboundOut(.transferChunk(id: id, offset: s.next, bytes: bytes)), promise: nil)
                s.next += UInt64(count)
                wrote = true
                if s.next == s.transfer.size { service.transferSentAll(id) }
            }
            transfers.sending[id] = s
        }
        if wrote { context.flush() }
    }

    private func schedulePump(context: ChannelHandlerContext, afterNs: Int64) {
        guard !transfers.pumpScheduled else { return }
        transfers.pumpScheduled = true
        context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(max(1_000_000, afterNs))) { [self] in
            transfers.pumpScheduled = false
            pumpTransfers(context: context)
        }
    }

    /// The receiver's answer, or the sender giving up.
    func transferEnded(_ id: UInt64, ok: Bool, message: String, context: ChannelHandlerContext, peer: String) {
        if let s = transfers.sending[id] {
            switch service.outgoingEnded(id, peer: peer, ok: ok, message: message) {
            case .early:
                // A yes before the receiver said it holds every byte is not one.
                return violation(context, peer, "a transfer answered installed before all of it arrived")
            case .taken, .unknown:
                transfers.sending[id] = nil
                if s.fd >= 0 { close(s.fd) }
            }
        } else if let r = transfers.receiving.removeValue(forKey: id), let directory = service.transferSink?.transferDirectory {
            close(r.fd)
            unlink(LinkService.partPath(directory, peer, id))
            service.releaseIncoming(peer, id, owner: ObjectIdentifier(context.channel))
        }
    }

    // MARK: - Receiving

    func transferOffered(id: UInt64, app: String, size: UInt64, digest: [UInt8], key: [UInt8], context: ChannelHandlerContext, peer: String) {
        // A peer that offers and does not read gets no answers past what the socket takes: it offers again later.
        guard context.channel.isWritable else { return }
        func end(_ ok: Bool, _ message: String) {
            if ok { context.write(wrapOutboundOut(.transferAt(id: id, have: size)), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.transferEnd(id: id, ok: ok, message: LinkService.clip(message))), promise: nil)
        }
        guard let sink = service.transferSink else { return end(false, "this node takes no apps over its links") }
        let directory = sink.transferDirectory
        if let r = transfers.receiving[id] {
            // Offered again on this link (the sender's ping-time retry): where it stands.
            return context.writeAndFlush(wrapOutboundOut(.transferAt(id: id, have: r.have)), promise: nil)
        }
        // The transfer's slot first: while another link writes it, or it is being installed, there is no answer
        // yet (the sender offers again). Holding the slot, nothing else can finish it meanwhile.
        let owner = ObjectIdentifier(context.channel)
        switch service.claimIncoming(peer, id, size: size, owner: owner) {
        case .finishing, .busy: return
        case .claimed: break
        }
        func settle(_ ok: Bool, _ message: String) {
            service.releaseIncoming(peer, id, owner: owner)
            end(ok, message)
        }
        // Answered before (the sender missed it), or installed when this node stopped before it kept the answer:
        // never refused as "an app already here".
        if let done = service.finished(peer, id, directory: directory) { return settle(done.ok, done.message) }
        if let installing = service.interruptedInstall(peer, id, directory: directory) {
            if installing == app && sink.installed(app: app, from: peer) {
                let message = "installed \(app) (before this node restarted)"
                LinkService.writeRecord(LinkService.donePath(directory, peer, id), "ok\n" + message)
                unlink(LinkService.installingPath(directory, peer, id))
                unlink(LinkService.partPath(directory, peer, id))
                return settle(true, message)
            }
            unlink(LinkService.installingPath(directory, peer, id))
        }
        guard size >= LinkService.minTransfer else { return settle(false, "\(size) bytes is too small to be an app's bundle") }
        if let why = sink.refusal(app: app, size: size, from: peer, alsoArriving: service.arrivingBytes(besides: peer, id)) {
            // Audited once per app a link: a peer offering again and again does not fill the log.
            if TransferLink.remember(app, in: &transfers.refused) { service.audit("transfer.refused", peer, "app '\(app)' (\(size) bytes): \(why)") }
            return settle(false, why)
        }
        mkdir(directory, 0o700)
        service.prunePartials(of: peer, keeping: id, directory: directory)
        let path = LinkService.partPath(directory, peer, id)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return settle(false, "the receiving node cannot write \(path) (errno \(errno))") }
        var st = stat()
        var have = fstat(fd, &st) == 0 ? UInt64(max(0, st.st_size)) : 0
        if have > size {
            have = 0
            _ = ftruncate(fd, 0)
        }
        transfers.receiving[id] = TransferLink.Receiving(app: app, size: size, digest: digest, key: key, fd: fd, have: have, told: have)
        if have > 0 { service.note("transfer \(id) of app '\(app)' resumes at \(have) of \(size) bytes", peer: peer, level: .notice) }
        context.writeAndFlush(wrapOutboundOut(.transferAt(id: id, have: have)), promise: nil)
        if have == size { finishReceiving(id, context: context, peer: peer) }
    }

    /// A chunk of transfer `id`; true when it moved the transfer forward.
    func transferChunk(_ id: UInt64, offset: UInt64, bytes: [UInt8], context: ChannelHandlerContext, peer: String) -> Bool {
        guard var r = transfers.receiving[id] else { return false }
        guard offset >= r.have else { return false }  // a repeat after the sender went back
        guard offset == r.have, r.size - r.have >= UInt64(bytes.count) else {
            violation(context, peer, "a transfer chunk past its offer or out of order")
            return false
        }
        let written = bytes.withUnsafeBytes { pwrite(r.fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == bytes.count else {
            let why = "the receiving node cannot write the bundle (errno \(errno)); it keeps what it has"
            close(r.fd)
            transfers.receiving[id] = nil
            service.releaseIncoming(peer, id, owner: ObjectIdentifier(context.channel))
            context.writeAndFlush(wrapOutboundOut(.transferEnd(id: id, ok: false, message: why)), promise: nil)
            return false
        }
        r.have += UInt64(bytes.count)
        if r.have - r.told >= UInt64(LinkFrame.transferAckEvery) || r.have == r.size {
            r.told = r.have
            context.writeAndFlush(wrapOutboundOut(.transferAt(id: id, have: r.have)), promise: nil)
        }
        transfers.receiving[id] = r
        if r.have == r.size { finishReceiving(id, context: context, peer: peer) }
        return true
    }

    private func finishReceiving(_ id: UInt64, context: ChannelHandlerContext, peer: String) {
        guard let r = transfers.receiving.removeValue(forKey: id), let directory = service.transferSink?.transferDirectory else { return }
        close(r.fd)
        service.finishIncoming(peer, id, app: r.app, size: r.size, digest: r.digest, key: r.key, directory: directory)
    }

    /// The link closes: files are closed, its incoming slots freed for the next link, outgoing transfers wait for it.
    func transfersClosed(peer: String?, channel: any Channel) {
        let receiving = Array(transfers.receiving.keys)
        let started = transfers.closeAll()
        guard let peer else { return }
        for id in receiving { service.releaseIncoming(peer, id, owner: ObjectIdentifier(channel)) }
        service.transferUnlinked(started, link: ObjectIdentifier(channel))
    }
}
