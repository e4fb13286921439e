import PluginABI
import SynAppStore
import SynSQLite
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// Serves `call` frames from the host on the link until shutdown or the host closes it.
struct Server {
    let link: FrameLink
    let app: LoadedApp
    let context: CallContext

    func run() -> Never {
        while true {
            // Calls the host pipelined behind one that made host calls were read while waiting for those answers.
            if let next = context.takeStashed() {
                next.payload.withUnsafeBytes { serve(FrameView(kind: next.kind, requestID: next.requestID, op: next.op, payload: $0)) }
                continue
            }
            do {
                try link.receiveView { view throws(WireError) in serve(view) }
            } catch { exit(error.code == .closed ? 0 : 72) }
        }
    }

    private func serve(_ view: FrameView) {
        guard view.kind == .call, let op = CallOp(rawValue: view.op) else { exit(72) }
        context.requestID = view.requestID
        defer { context.reset() }
        // A probe answers its init frame and nothing else: no slot of the app's is ever called.
        if context.probe && op != .initialize { exit(0) }
        switch op {
        case .setup: exit(72)
        case .initialize: initialize(Frame(kind: view.kind, requestID: view.requestID, op: view.op, payload: Array(view.payload)))
        case .handle: handle(view)
        case .event: event(Frame(kind: view.kind, requestID: view.requestID, op: view.op, payload: Array(view.payload)))
        case .backup: backup(Array(view.payload), view.requestID)
        case .shutdown:
            context.store?.beginCall()
            if app.has(\syn_plugin.shutdown), let shutdown = app.plugin.pointee.shutdown { shutdown(context.opaque) }
            _ = context.store?.endCall(commit: false)
            reply(SYN_OK, view.requestID, [0, 0, 0, 0])
            exit(0)
        }
    }

    /// A step of the host's online backup of the app's database, between calls; nothing of the app's runs.
    private func backup(_ payload: [UInt8], _ id: UInt64) {
        guard let store = context.store else { return replyError(SYN_E_UNSUPPORTED, id, "backup", message: "the app has no database") }
        var r = WireReader(payload)
        guard let pages = try? r.u32(), let mode = try? r.u8(), mode <= 2 else {
            return replyError(SYN_E_BAD_ARG, id, "backup", message: "a backup step names its pages and mode")
        }
        if mode == 2 {
            store.abortBackup()
            var w = WireWriter()
            w.u32(200); w.u8(1); w.u64(0); w.u64(0); w.u64(UInt64(DescriptorJail.streamedBytes()))
            return reply(SYN_OK, id, w.bytes)
        }
        // A backup started anew counts the bytes it streams to the host from zero.
        if mode == 1 { DescriptorJail.resetStreamed() }
        switch store.backupStep(pages: Int(pages), restart: mode == 1) {
        case .success(let progress):
            var w = WireWriter()
            w.u32(200)
            w.u8(progress.done ? 1 : 0); w.u64(UInt64(progress.remaining)); w.u64(UInt64(progress.pageCount))
            // What the copy streamed so far: the host has it all before it takes the step as done.
            w.u64(UInt64(DescriptorJail.streamedBytes()))
            reply(SYN_OK, id, w.bytes)
        case .failure(let failure):
            replyError(failure.status, id, "backup", message: failure.message)
        }
    }

    private func initialize(_ frame: Frame) {
        if context.probe {
            // The magic was checked when the library was bound; report it, run nothing of the app's.
            var w = WireWriter()
            w.u32(0)
            w.string(app.appID); w.string(app.version); w.u32(app.minor)
            return reply(SYN_OK, frame.requestID, w.bytes)
        }
        var status = SYN_OK
        context.store?.beginCall()
        // What an earlier worker committed and never handed over goes first.
        deliverOutbox()
        if app.has(\syn_plugin.`init`), let initFunction = app.plugin.pointee.`init` {
            status = frame.payload.withUnsafeBufferPointer { config in
                initFunction(context.opaque, syn_buf(ptr: config.baseAddress, len: config.count))
            }
        }
        if let failure = finish(commit: status == SYN_OK) {
            return replyError(failure.status, frame.requestID, "init", message: failure.message)
        }
        guard status == SYN_OK else { return replyError(status, frame.requestID, "init") }
        var w = WireWriter()
        w.u32(0) // no HTTP status for init
        w.string(app.appID); w.string(app.version); w.u32(app.minor)
        reply(SYN_OK, frame.requestID, w.bytes)
    }

    private func handle(_ frame: FrameView) {
        // Method, caller and body are read in place from the link's buffer: no copies on the hot path. (A nested
        // host call reads into a second buffer, so they stay valid while the app runs.)
        var response = syn_response(status: 200, body: syn_buf(ptr: nil, len: 0))
        let status: Int32? = {
            let p = frame.payload.bindMemory(to: UInt8.self)
            guard let base = p.baseAddress else { return nil }
            var offset = 0
            func field() -> syn_buf? {
                guard p.count - offset >= 4 else { return nil }
                let n = Int(UInt32(p[offset]) | UInt32(p[offset + 1]) << 8 | UInt32(p[offset + 2]) << 16 | UInt32(p[offset + 3]) << 24)
                guard p.count - offset - 4 >= n else { return nil }
                defer { offset += 4 + n }
                return syn_buf(ptr: base + offset + 4, len: n)
            }
            guard let method = field(), let caller = field(), let origin = field(), p.count - offset >= 8 else { return nil }
            context.origin = HostTable.bytes(origin, limit: 64)
            var deadline: UInt64 = 0
            for i in (0..<8).reversed() { deadline = deadline << 8 | UInt64(p[offset + i]) }
            offset += 8
            // A call from another app ends by that app's deadline: the app's SQL is refused from then on.
            context.store?.beginCall(deadlineNs: Int64(clamping: deadline))
            var request = syn_request(method: method, caller: caller,
                                      body: syn_buf(ptr: base + offset, len: p.count - offset),
                                      request_id: frame.requestID)
            return app.plugin.pointee.handle(context.opaque, &request, &response)
        }()
        guard let status else { exit(72) }
        let validBody = response.body.len == 0 || response.body.ptr != nil
        // One transaction per call: kept only for a 2xx or 3xx answer.
        if let failure = finish(commit: status == SYN_OK && validBody && (200..<400).contains(response.status)) {
            return replyError(failure.status, frame.requestID, "handle", message: failure.message)
        }
        guard status == SYN_OK else { return replyError(status, frame.requestID, "handle") }
        guard validBody else {
            return replyError(SYN_E_BAD_ARG, frame.requestID, "handle",
                              message: "the response body is NULL with length \(response.body.len)")
        }
        let body = response.body
        do {
            try link.send(.reply, requestID: frame.requestID, op: UInt32(bitPattern: SYN_OK), count: 4 + body.len) { out in
                out.storeBytes(of: response.status.littleEndian, as: UInt32.self)
                if let src = body.ptr, body.len > 0 {
                    UnsafeMutableRawBufferPointer(rebasing: out[4...]).copyMemory(from: UnsafeRawBufferPointer(start: src, count: body.len))
                }
            }
        } catch { exit(error.code == .closed ? 0 : 72) }
    }

    private func event(_ frame: Frame) {
        var reader = WireReader(frame.payload)
        guard let kind = try? reader.u32(), let topic = try? reader.data(), let payload = try? reader.data(),
              let token = try? reader.u64() else { exit(72) }
        if kind == OutboxBatch.flushEventKind {
            // The host's own call, never the app's: hand over what earlier calls left in the outbox.
            context.store?.beginCall()
            deliverOutbox()
            return reply(SYN_OK, frame.requestID, [0, 0, 0, 0])
        }
        guard app.has(\syn_plugin.on_event), let onEvent = app.plugin.pointee.on_event else {
            return replyError(SYN_E_UNSUPPORTED, frame.requestID, "on_event", message: "the app has no on_event slot")
        }
        context.store?.beginCall()
        var applied: UInt64?
        if kind == UInt32(SYN_EVENT_PEER) {
            // Exactly once: the message is placed against the last one applied from its peer, in this call's
            // transaction, and recorded there when the app's on_event succeeds.
            switch placePeerMessage(topic: topic, seq: token) {
            case .failure(let failure):
                _ = context.store?.endCall(commit: false)
                return replyError(failure.status, frame.requestID, "on_event", message: failure.message)
            case .success(.duplicate(let last)):
                _ = context.store?.endCall(commit: false)
                return reply(SYN_OK, frame.requestID, Self.peerOutcome(1, last))
            case .success(.gap(let last)):
                _ = context.store?.endCall(commit: false)
                return reply(SYN_OK, frame.requestID, Self.peerOutcome(2, last))
            case .success(.next):
                applied = token
            }
        }
        let status = topic.withUnsafeBufferPointer { t in
            payload.withUnsafeBufferPointer { p in
                var e = syn_event(kind: kind, topic: syn_buf(ptr: t.baseAddress, len: t.count),
                                  payload: syn_buf(ptr: p.baseAddress, len: p.count), token: token)
                return onEvent(context.opaque, &e)
            }
        }
        var recorded: StoreFailure?
        if status == SYN_OK, let applied, let store = context.store {
            do throws(StoreFailure) { try store.recordPeerMessage(peer: String(decoding: topic, as: UTF8.self), seq: applied) } catch { recorded = error }
        }
        if let failure = finish(commit: status == SYN_OK && recorded == nil) ?? recorded {
            return replyError(failure.status, frame.requestID, "on_event", message: failure.message)
        }
        guard status == SYN_OK else { return replyError(status, frame.requestID, "on_event") }
        reply(SYN_OK, frame.requestID, applied.map { Self.peerOutcome(0, $0) } ?? [0, 0, 0, 0])
    }

    /// Where a peer's message stands in this app's database, or why it cannot be placed.
    private func placePeerMessage(topic: [UInt8], seq: UInt64) -> Result<AppStore.PeerMessage, StoreFailure> {
        guard let store = context.store else {
            return .failure(StoreFailure(SynStatus.unsupported, "messages from peers need the app's database, where the last one applied is recorded"))
        }
        guard let peer = String(validating: topic, as: UTF8.self), seq > 0 else {
            return .failure(StoreFailure(SynStatus.badArg, "a peer message needs the peer's node id and a sequence number from 1"))
        }
        do throws(StoreFailure) { return .success(try store.placePeerMessage(peer: peer, seq: seq)) } catch { return .failure(error) }
    }

    /// A peer message's reply: `u32 0`, then `u8` 0 applied (the app saw it), 1 applied before, 2 an earlier one is
    /// missing; then `u64` the last sequence applied from that peer.
    static func peerOutcome(_ outcome: UInt8, _ applied: UInt64) -> [UInt8] {
        var w = WireWriter()
        w.u32(0); w.u8(outcome); w.u64(applied)
        return w.bytes
    }

    /// Ends the call's transaction: commits when the call succeeded, else rolls back, then hands the host what the
    /// commit put in the outbox. Returns why a wanted commit did not happen; the call then fails with it (nothing it
    /// wrote is kept).
    private func finish(commit: Bool) -> StoreFailure? {
        var failure: StoreFailure? = nil
        if let store = context.store {
            failure = store.endCall(commit: commit)
            deliverOutbox()
        }
        if commit && failure == nil { deliverNotices() }
        return failure
    }

    /// Hands the host the client notices of a call that committed, in one host call; best-effort, as every
    /// ephemeral message is (a refusal is the app's `last_error` only if the call has none).
    private func deliverNotices() {
        guard !context.notices.notices.isEmpty else { return }
        // Ephemeral: not worth a call that ran out of time (an outbox's margin).
        if let store = context.store, store.timeLeftNs <= min(Self.deliveryMarginNs, store.callTimeoutNs / 4) { return }
        let appError = context.lastError
        defer { context.lastError = appError }
        var w = WireWriter()
        w.raw(context.notices.encode())
        _ = context.forward(.notices, w) { _ throws(WireError) in }
    }

    /// Hands committed outbox rows to the host, a message's worth at a time, until it has them all, refuses, or the
    /// call's deadline nears; what is left stays in the outbox for the next call (or the next worker).
    private func deliverOutbox() {
        guard let store = context.store, store.outboxPending else { return }
        // The app's own last error outlives the hand-over: a failed call still replies with it.
        let appError = context.lastError
        defer { context.lastError = appError }
        let margin = min(Self.deliveryMarginNs, store.callTimeoutNs / 4)
        for _ in 0..<16 {
            guard store.timeLeftNs > margin else { return }
            let batch = store.undelivered(maxMessage: context.maxMessage)
            guard let last = batch.rows.last?.seq else { return }
            var stored: Int64 = 0
            var w = WireWriter()
            w.raw(batch.encode())
            let status = context.forward(.outbox, w) { r throws(WireError) in stored = Int64(bitPattern: try r.u64()) }
            guard status == SYN_OK, stored >= batch.rows[0].seq else { return }
            store.acknowledge(through: stored)
            if stored < last { return }
        }
    }

    /// Outbox rows are handed over only while this much of the call's time is left (a quarter of a shorter call's).
    static let deliveryMarginNs: Int64 = 200_000_000

    /// A failed call's reply carries `u32 0` then the app's last error (or a default message).
    private func replyError(_ status: Int32, _ id: UInt64, _ slot: String, message: String? = nil) {
        var w = WireWriter()
        w.u32(0)
        let text = message ?? context.lastError.map { String(decoding: $0, as: UTF8.self) }
            ?? "\(slot) returned status \(status)"
        w.raw(text.utf8.prefix(4096))
        reply(status, id, w.bytes)
    }

    /// Every reply payload starts with a `u32` HTTP-like status (0 where none applies).
    private func reply(_ status: Int32, _ id: UInt64, _ payload: [UInt8]) {
        do {
            try link.send(.reply, requestID: id, op: UInt32(bitPattern: status), payload: payload)
        } catch {
            exit(error.code == .closed ? 0 : 72)
        }
    }
}
