import CSynSys
import PluginABI
import SynAppStore
import SynSystem
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// The `syn_host` table handed to the app. Local slots run in the worker, and so does storage when it is granted
/// (the app's own database, `AppStore`); other capability slots become nested `hostCall` frames answered by the
/// host. An ungranted storage slot goes to the host too, without its arguments: the host denies it, audits the
/// denial and names the key that grants it.
enum HostTable {
    /// Built once; lives for the life of the process.
    nonisolated(unsafe) static let table: UnsafeMutablePointer<syn_host> = {
        let p = UnsafeMutablePointer<syn_host>.allocate(capacity: 1)
        var h = syn_host()
        h.size = UInt32(MemoryLayout<syn_host>.size)
        h.minor = UInt32(SYN_ABI_MINOR)
        h.alloc = { ctx, n in CallContext.from(ctx)?.alloc(n) }
        h.last_error = { ctx, out in
            guard let c = CallContext.from(ctx), let out else { return SYN_E_BAD_ARG }
            guard let message = c.lastError else { return SYN_E_NOT_FOUND }
            out.pointee = c.buf(message)
            return SYN_OK
        }
        h.log = { ctx, level, message in
            guard let c = CallContext.from(ctx) else { return }
            let bytes = HostTable.bytes(message, limit: 4096)
            try? c.link.send(.log, requestID: c.requestID, op: UInt32(bitPattern: level), payload: bytes)
        }
        h.id_public_key = { ctx, out in
            guard let c = CallContext.from(ctx), let out else { return SYN_E_BAD_ARG }
            return c.forward(.idPublicKey, WireWriter()) { r throws(WireError) in
                try HostTable.fill(out, from: try r.data(limit: 32), count: 32)
            }
        }
        h.id_sign = { ctx, message, out in
            guard let c = CallContext.from(ctx), let out else { return SYN_E_BAD_ARG }
            var w = WireWriter(); w.data(HostTable.bytes(message))
            return c.forward(.idSign, w) { r throws(WireError) in
                try HostTable.fill(out, from: try r.data(limit: 64), count: 64)
            }
        }
        h.id_verify = { ctx, key, message, signature in
            guard let c = CallContext.from(ctx), let key, let signature else { return SYN_E_BAD_ARG }
            var w = WireWriter()
            w.raw(UnsafeBufferPointer(start: key, count: 32))
            w.raw(UnsafeBufferPointer(start: signature, count: 64))
            w.data(HostTable.bytes(message))
            return c.forward(.idVerify, w) { _ throws(WireError) in }
        }
        h.kv_get = { ctx, key, value, version in
            guard let c = CallContext.from(ctx), let value else { return SYN_E_BAD_ARG }
            guard let store = c.kvStore else { return c.ungranted(.kvGet) }
            return c.local { () throws(StoreFailure) in
                let found = try store.get(key: HostTable.bytes(key))
                value.pointee = try c.output(found.value, "kv_get")
                version?.pointee = found.version
            }
        }
        h.kv_put = { ctx, key, value, ifVersion, newVersion in
            guard let c = CallContext.from(ctx) else { return SYN_E_BAD_ARG }
            guard let store = c.kvStore else { return c.ungranted(.kvPut) }
            return c.local { () throws(StoreFailure) in
                let v = try store.put(key: HostTable.bytes(key, limit: AppStore.maxKey + 1),
                                      value: HostTable.bytes(value, limit: AppStore.maxValue + 1),
                                      ifVersion: ifVersion, wantVersion: newVersion != nil)
                newVersion?.pointee = v
            }
        }
        h.kv_delete = { ctx, key, ifVersion in
            guard let c = CallContext.from(ctx) else { return SYN_E_BAD_ARG }
            guard let store = c.kvStore else { return c.ungranted(.kvDelete) }
            return c.local { () throws(StoreFailure) in
                try store.delete(key: HostTable.bytes(key, limit: AppStore.maxKey + 1), ifVersion: ifVersion)
            }
        }
        h.kv_scan = { ctx, prefix, cursor, limit, page, next in
            guard let c = CallContext.from(ctx), let page, let next else { return SYN_E_BAD_ARG }
            guard let store = c.kvStore else { return c.ungranted(.kvScan) }
            return c.local { () throws(StoreFailure) in
                let result = try store.scan(prefix: HostTable.bytes(prefix, limit: AppStore.maxKey + 1),
                                            cursor: HostTable.bytes(cursor, limit: AppStore.maxKey + 1), limit: limit)
                page.pointee = try c.output(result.page, "kv_scan")
                next.pointee = try c.output(result.next, "kv_scan")
            }
        }
        h.sql_exec = { ctx, sql, params, changes in
            guard let c = CallContext.from(ctx) else { return SYN_E_BAD_ARG }
            guard let store = c.sqlStore else { return c.ungranted(.sqlExec) }
            return c.local { () throws(StoreFailure) in
                let n = try store.exec(sql: HostTable.bytes(sql, limit: AppStore.maxSQL + 1),
                                       parameters: HostTable.bytes(params, limit: AppStore.maxValue + 1))
                changes?.pointee = n
            }
        }
        h.sql_query = { ctx, sql, params, rows in
            guard let c = CallContext.from(ctx), let rows else { return SYN_E_BAD_ARG }
            guard let store = c.sqlStore else { return c.ungranted(.sqlQuery) }
            return c.local { () throws(StoreFailure) in
                let json = try store.query(sql: HostTable.bytes(sql, limit: AppStore.maxSQL + 1),
                                           parameters: HostTable.bytes(params, limit: AppStore.maxValue + 1))
                rows.pointee = try c.output(json, "sql_query")
            }
        }
        h.net_send = { ctx, peer, payload in
            guard let c = CallContext.from(ctx) else { return SYN_E_BAD_ARG }
            let peerBytes = HostTable.bytes(peer, limit: 65), payloadBytes = HostTable.bytes(payload, limit: 64 * 1024 + 1)
            var w = WireWriter(); w.data(peerBytes); w.data(payloadBytes)
            // The host checks the grant, the peer and the quota; the message goes into the outbox, in the call's
            // transaction, and reaches the host (then the peer) only if the call commits.
            let status = c.forward(.netSend, w) { _ throws(WireError) in }
            guard status == SYN_OK else { return status }
            return c.outbox("net_send") { (store: AppStore) throws(StoreFailure) in
                try store.enqueue(kind: OutboxRow.net, type: peerBytes, payload: payloadBytes, token: 0, dueNs: 0,
                               requestID: c.requestID, maxMessage: c.maxMessage)
            }
        }
        h.net_request = { ctx, method, url, headers, body, timeout, status, response in
            guard let c = CallContext.from(ctx), let status, let response else { return SYN_E_BAD_ARG }
            var w = WireWriter()
            w.data(HostTable.bytes(method)); w.data(HostTable.bytes(url)); w.data(HostTable.bytes(headers))
            w.data(HostTable.bytes(body)); w.u32(timeout)
            return c.forwardAnswer(.netRequest, w, status: status, response: response)
        }
        h.msg_publish = { ctx, topic, payload in
            guard let c = CallContext.from(ctx) else { return SYN_E_BAD_ARG }
            let topicBytes = HostTable.bytes(topic)
            // A client notice waits for the call's commit; the host checks it then (and refuses it now, naming the
            // key, when the grant does not cover it).
            if c.clientNotices, ClientNotices.isClientTopic(topicBytes) {
                return c.queueNotice(topic: topicBytes, payload: HostTable.bytes(payload))
            }
            // The topic "client" alone asks whether anyone has a stream of this app open (nothing is sent).
            if c.clientNotices, topicBytes.elementsEqual("client".utf8) {
                if c.listeners == nil, let status = c.loadListeners() { return status }
                return c.listeners?.isEmpty == false ? SYN_OK : SYN_E_NOT_FOUND
            }
            var w = WireWriter(); w.data(topicBytes); w.data(HostTable.bytes(payload))
            return c.forward(.msgPublish, w) { _ throws(WireError) in }
        }
        h.event_emit = { ctx, type, payload in
            guard let c = CallContext.from(ctx) else { return SYN_E_BAD_ARG }
            let typeBytes = HostTable.bytes(type), payloadBytes = HostTable.bytes(payload)
            var w = WireWriter(); w.data(typeBytes); w.data(payloadBytes)
            // The host checks the grant, the type and the payload; the event itself goes into the outbox, in the
            // call's transaction, and reaches the host after the commit.
            let status = c.forward(.eventEmit, w) { _ throws(WireError) in }
            guard status == SYN_OK else { return status }
            return c.outbox("event_emit") { (store: AppStore) throws(StoreFailure) in
                try store.enqueue(kind: OutboxRow.event, type: typeBytes, payload: payloadBytes, token: 0, dueNs: 0,
                               requestID: c.requestID, maxMessage: c.maxMessage)
            }
        }
        h.timer_set = { ctx, delay, payload, token in
            guard let c = CallContext.from(ctx) else { return SYN_E_BAD_ARG }
            let payloadBytes = HostTable.bytes(payload)
            var w = WireWriter(); w.u64(delay); w.data(payloadBytes)
            var issued: UInt64 = 0, dueNs: Int64 = 0
            let status = c.forward(.timerSet, w) { r throws(WireError) in
                issued = try r.u64()
                dueNs = Int64(bitPattern: try r.u64())
            }
            guard status == SYN_OK else { return status }
            let stored = c.outbox("timer_set") { (store: AppStore) throws(StoreFailure) in
                try store.enqueue(kind: OutboxRow.timer, type: [], payload: payloadBytes, token: issued, dueNs: dueNs,
                               requestID: c.requestID, maxMessage: c.maxMessage)
            }
            if stored == SYN_OK { token?.pointee = issued }
            return stored
        }
        h.clock_ns = { _, monotonic in
            UInt64(clamping: monotonic != 0 ? MonotonicClock.nowNs() : WallClock.nowNs())
        }
        h.random = { ctx, out, n in
            guard let c = CallContext.from(ctx) else { return SYN_E_BAD_ARG }
            if n == 0 { return SYN_OK }
            guard let out else { return c.fail(SYN_E_BAD_ARG, "random: out is NULL") }
            guard n <= 65536 else { return c.fail(SYN_E_TOO_LARGE, "random: at most 65536 bytes per call, asked \(n)") }
            return csyn_getrandom(out, n) == 0 ? SYN_OK : c.fail(SYN_E_IO, "random: getrandom failed (errno \(errno))")
        }
        h.app_call = { ctx, app, method, body, onBehalf, status, response in
            guard let c = CallContext.from(ctx), let status, let response else { return SYN_E_BAD_ARG }
            var w = WireWriter()
            w.data(HostTable.bytes(app, limit: 64)); w.data(HostTable.bytes(method, limit: 129))
            w.data(HostTable.bytes(body)); w.data(HostTable.bytes(onBehalf, limit: 4096))
            // The host checks the grant, the chain of calls and any signature, then waits for the target app.
            return c.forwardAnswer(.appCall, w, status: status, response: response)
        }
        h.node_id = { ctx, id in
            guard let c = CallContext.from(ctx), let id else { return SYN_E_BAD_ARG }
            return c.forward(.nodeID, WireWriter()) { r throws(WireError) in id.pointee = c.buf(try r.data(limit: 64)) }
        }
        h.call_origin = { ctx, app in
            guard let c = CallContext.from(ctx), let app else { return SYN_E_BAD_ARG }
            guard !c.origin.isEmpty else { return SYN_E_NOT_FOUND }
            app.pointee = c.buf(c.origin)
            return SYN_OK
        }
        p.initialize(to: h)
        return p
    }()

    /// Copies a borrowed `syn_buf` (treating a NULL pointer with a length as empty) up to `limit` bytes.
    static func bytes(_ b: syn_buf, limit: Int = Int.max) -> [UInt8] {
        guard let ptr = b.ptr, b.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: ptr, count: min(b.len, limit)))
    }

    static func fill(_ out: UnsafeMutablePointer<UInt8>, from bytes: [UInt8], count: Int) throws(WireError) {
        guard bytes.count == count else { throw WireError(.badPayload, "expected \(count) bytes, got \(bytes.count)") }
        for i in 0..<count { out[i] = bytes[i] }
    }
}

extension CallContext {
    /// A storage slot the app was not granted: the host denies it, audits the denial and names the key that grants
    /// it. No argument travels (the host reads none), so no size of them can matter.
    func ungranted(_ op: HostOp) -> Int32 {
        forward(op, WireWriter()) { _ throws(WireError) in }
    }

    /// Runs a storage slot in the worker; a failure becomes the slot's status and `last_error`.
    func local(_ body: () throws(StoreFailure) -> Void) -> Int32 {
        do throws(StoreFailure) {
            try body()
            return SYN_OK
        } catch {
            return fail(error.status, error.message)
        }
    }

    /// Writes to the app's outbox, which every app with events or timers has.
    func outbox(_ slot: String, _ body: (AppStore) throws(StoreFailure) -> Void) -> Int32 {
        guard let store else {
            return fail(SYN_E_INTERNAL, "\(slot): the app has no database to hold its outbox")
        }
        return local { () throws(StoreFailure) in try body(store) }
    }

    /// A `syn_buf` over a copy of `bytes` in the arena; a full arena is the slot's failure.
    func output(_ bytes: [UInt8], _ slot: String) throws(StoreFailure) -> syn_buf {
        let out = buf(bytes)
        guard bytes.isEmpty || out.ptr != nil else {
            throw StoreFailure(SYN_E_QUOTA, "\(slot): the call's arena is full (it grows with profile keys limits.memory_mb and limits.max_frame_kb)")
        }
        return out
    }

    /// A `syn_buf` over a copy of `bytes` in the arena (empty if the arena is exhausted).
    func buf(_ bytes: [UInt8]) -> syn_buf {
        guard !bytes.isEmpty, let p = copy(bytes) else { return syn_buf(ptr: nil, len: 0) }
        return syn_buf(ptr: p.assumingMemoryBound(to: UInt8.self), len: bytes.count)
    }

    /// A forwarded slot whose answer is an HTTP-like status and a body (`net_request`, `app_call`): the body goes
    /// into the arena, and an arena too small for it is the slot's failure, not an empty answer.
    func forwardAnswer(_ op: HostOp, _ args: WireWriter, status: UnsafeMutablePointer<UInt32>,
                       response: UnsafeMutablePointer<syn_buf>) -> Int32 {
        var full = false
        let result = forward(op, args) { r throws(WireError) in
            status.pointee = try r.u32()
            let answer = try r.data()
            response.pointee = buf(answer)
            full = !answer.isEmpty && response.pointee.ptr == nil
        }
        return full ? fail(SYN_E_QUOTA, "\(op.slotName): the call's arena cannot hold the answer (profile key limits.memory_mb)") : result
    }

    /// Sends a nested host call and decodes the reply with `decode` when the host answers SYN_OK.
    func forward(_ op: HostOp, _ args: WireWriter, decode: (inout WireReader) throws(WireError) -> Void) -> Int32 {
        do throws(WireError) {
            try link.send(.hostCall, requestID: requestID, op: op.rawValue, payload: args.bytes)
            var reply = try link.receive()
            while reply.kind == .call {
                // A call the host pipelined behind this one: it waits its turn.
                guard stash(reply) else { exit(72) } // more than the host ever pipelines: the link is broken
                reply = try link.receive()
            }
            guard reply.kind == .hostReply, reply.requestID == requestID else {
                return fail(SYN_E_INTERNAL, "\(op.slotName): unexpected \(reply.kind) frame from host")
            }
            let status = Int32(bitPattern: reply.op)
            var reader = WireReader(reply.payload)
            guard status == SYN_OK else { return fail(status, String(decoding: reader.rest(), as: UTF8.self)) }
            try decode(&reader)
            return SYN_OK
        } catch {
            return fail(SYN_E_INTERNAL, "\(op.slotName): link to host failed: \(error)")
        }
    }
}
