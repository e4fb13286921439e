import CSynSeccomp
import CSynSys
import SynSystem
import SynWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A worker's link and the conversation on it: the call in progress, its log lines, the worker's fatal reports,
/// and how it died. It lives inside `WorkerProcess`'s lock, which serialises calls (the link carries one at a
/// time), and is reachable only through it: hence `@unchecked Sendable`, which lets a call hand its own closures
/// to the session inside the lock.
final class WorkerSession: @unchecked Sendable {
    let spec: WorkerSpec
    let pid: Int32
    let socket: Int32
    let pidfd: Int32
    let link: FrameLink
    let cgroup: WorkerCgroup
    let hostCalls: any HostCallHandler
    let logSink: @Sendable (AppLogLine) -> Void
    /// What other threads may read or set without waiting for a call: an interruption, the death, the CPU time.
    let fate: WorkerFate
    /// The request id of the call in progress, for its log lines.
    private var currentTag = ""
    var fatalFrames: [Frame] = []
    /// Log lines forwarded in the current call, and how many were dropped past `maxLogLinesPerCall`.
    private var logLines = 0
    private var droppedLogLines = 0
    /// Why the host killed the worker, when it did.
    var forcedDeath: WorkerDeath?
    /// Set once the worker is gone; every later call fails with it.
    var death: WorkerDeath?

    init(spec: WorkerSpec, pid: Int32, socket: Int32, cgroup: WorkerCgroup, hostCalls: any HostCallHandler,
         fate: WorkerFate, log: @escaping @Sendable (AppLogLine) -> Void) {
        self.spec = spec
        self.pid = pid
        self.socket = socket
        self.pidfd = csyn_pidfd_open(pid)
        self.cgroup = cgroup
        self.hostCalls = hostCalls
        self.fate = fate
        self.logSink = log
        self.link = FrameLink(fd: socket, maxMessage: spec.maxMessage, noSignal: true)
    }

    deinit {
        if death == nil { _ = kill(.exit, "the host released the worker") }
        close(socket)
        if pidfd >= 0 { close(pidfd) }
    }

    /// Sends the setup and the database descriptors, then runs the app's `init`; returns what the app said it is.
    func handshake(_ setup: WorkerSetup, databaseFDs: [Int32]) throws(WorkerError) -> LoadedAppInfo {
        do throws(WireError) {
            try link.send(.call, op: CallOp.setup.rawValue, payload: setup.encode())
        } catch {
            throw .died(kill(.protocolViolation, "cannot send setup: \(error)"))
        }
        if !databaseFDs.isEmpty && databaseFDs.withUnsafeBufferPointer({ csyn_send_fd_array(socket, $0.baseAddress, Int32($0.count), 0) }) != 0 {
            throw .died(kill(.protocolViolation, "cannot pass the app's database files: errno \(errno)"))
        }
        let reply = try exchange(.initialize, payload: HandlePayload(raw: spec.config), timeoutMs: spec.initTimeoutMs)
        guard reply.status == 0 else {
            let message = String(decoding: reply.body, as: UTF8.self)
            if death == nil { _ = kill(.exit, "init failed") }
            if reply.status == SynStatus.denied {
                throw .refused(SandboxError(.denied, "the app's init was denied a capability: \(message)"))
            }
            throw .refused(SandboxError(.load, "the app's init returned status \(reply.status): \(message)"))
        }
        var r = WireReader(reply.body)
        guard let id = try? r.string(limit: 255), let version = try? r.string(limit: 255), let minor = try? r.u32()
        else { throw .died(kill(.protocolViolation, "malformed init reply")) }
        return LoadedAppInfo(appID: id, version: version, abiMinor: minor)
    }

    /// One call: sent, then its turn.
    func exchange(_ op: CallOp, payload: HandlePayload, timeoutMs: Int) throws(WorkerError) -> CallReply {
        if let death { throw .died(death) }
        let id = WorkerProcess.nextRequestID.add(1, ordering: .relaxed).newValue
        do throws(WireError) {
            try link.send(.call, requestID: id, op: op.rawValue, count: payload.count) { payload.write(into: $0) }
        } catch {
            throw linkFailure(error)
        }
        return try turn(id: id, op: op, payload: payload, timeoutMs: timeoutMs).get()
    }

    /// What a failed send means: a dead peer may still have left its last words in the socket, so read them before
    /// classifying; any other failure is the worker breaking the protocol.
    private func linkFailure(_ error: WireError) -> WorkerError {
        guard error.code == .closed else { return .died(kill(.protocolViolation, error.message)) }
        do throws(WorkerError) { return .died(try drainAfterFatal()) } catch { return error }
    }

    /// A sent call's turn: its reply (and host calls) within `timeoutMs` from now. The worker committed the call's
    /// transaction exactly when the app returned SYN_OK, with a 2xx or 3xx status for a method call (a failed
    /// commit comes back as a failed call); the host keeps what the call produced on the same rule. A call whose
    /// results the host could not keep comes back as the host's failure.
    private func turn(id: UInt64, op: CallOp, payload: HandlePayload, timeoutMs: Int) -> Result<CallReply, WorkerError> {
        // A call from another app passes that app's deadline (less its margin) on to the host calls it makes, and
        // the worker's SQL stops then (the frame carries it); the worker itself is stopped only at its own timeout,
        // so no app can get another killed by calling it late.
        let own = MonotonicClock.nowNs() + Int64(timeoutMs) * 1_000_000
        let context = HostCallContext(app: spec.appID, requestID: id, caller: payload.caller,
                                      deadlineNs: min(own, payload.deadlineNs ?? own), tag: payload.tag, via: payload.via,
                                      maxReply: spec.maxMessage - 64)
        do throws(WorkerError) {
            let reply = try awaitReply(context, timeoutMs: timeoutMs, killAtNs: own)
            let committed = reply.status == 0 && (op != .handle || (200..<400).contains(reply.httpStatus))
            if let failure = hostCalls.endCall(context, commit: committed) {
                return .success(CallReply(status: failure.status, httpStatus: 0, body: Array(failure.message.utf8.prefix(4096))))
            }
            return .success(reply)
        } catch {
            _ = hostCalls.endCall(context, commit: false)
            return .failure(error)
        }
    }

    /// Reads frames until the call's reply, answering its host calls and forwarding its log lines.
    private func awaitReply(_ context: HostCallContext, timeoutMs: Int, killAtNs: Int64) throws(WorkerError) -> CallReply {
        currentTag = context.tag
        defer { endCallLogs() }
        let id = context.requestID
        let deadline = killAtNs / 1_000_000
        while true {
            let remaining = deadline - MonotonicClock.nowMs()
            if remaining <= 0 {
                throw .died(kill(.timeout, "no reply within call_timeout_ms=\(timeoutMs) (profile key limits.call_timeout_ms)"))
            }
            let frame: Frame
            do throws(WireError) {
                // The common case, our reply, is decoded from the link's buffer with a single copy of the body.
                let received = try link.receiveView(timeoutMs: Int32(clamping: remaining)) { view throws(WireError) -> Received in
                    if view.kind == .reply, view.requestID == id, view.payload.count >= 4 {
                        let http = view.payload.loadUnaligned(as: UInt32.self).littleEndian
                        let status = Int32(bitPattern: view.op)
                        return .reply(CallReply(status: status, httpStatus: status == 0 ? http : 0,
                                                body: Array(UnsafeRawBufferPointer(rebasing: view.payload[4...]))))
                    }
                    return .frame(Frame(kind: view.kind, requestID: view.requestID, op: view.op, payload: Array(view.payload)))
                }
                switch received {
                case .reply(let reply): return reply
                case .frame(let f): frame = f
                }
            } catch {
                switch error.code {
                case .timeout: continue
                case .closed: throw .died(try reapOrRefuse())
                default:
                    throw .died(kill(.protocolViolation, "\(error.message) (profile key limits.max_frame_kb=\(spec.maxMessage / 1024))"))
                }
            }
            switch frame.kind {
            case .reply where frame.requestID == id:
                var r = WireReader(frame.payload)
                let status = Int32(bitPattern: frame.op)
                guard let http = try? r.u32() else { throw .died(kill(.protocolViolation, "reply without status")) }
                var body = frame.payload
                body.removeFirst(4)
                return CallReply(status: status, httpStatus: status == 0 ? http : 0, body: body)
            case .hostCall where frame.requestID == id:
                guard let hostOp = HostOp(rawValue: frame.op) else {
                    throw .died(kill(.protocolViolation, "unknown host function \(frame.op)"))
                }
                var answer = hostCalls.hostCall(context, op: hostOp, payload: frame.payload)
                if answer.payload.count > context.maxReply {
                    // The worker could not take it (its link would break): the slot fails instead.
                    answer = (SynStatus.tooLarge, Array("\(hostOp.slotName): the answer is \(answer.payload.count) bytes, more than app '\(spec.appID)' takes (profile key limits.max_frame_kb)".utf8))
                }
                do throws(WireError) {
                    try link.send(.hostReply, requestID: id, op: UInt32(bitPattern: answer.status), payload: answer.payload)
                } catch {
                    throw .died(error.code == .closed ? try drainAfterFatal() : kill(.protocolViolation, error.message))
                }
            case .log:
                forwardLog(frame)
            case .fatal:
                keepFatal(frame)
                throw .died(try drainAfterFatal())
            default:
                throw .died(kill(.protocolViolation, "unexpected \(frame.kind) frame #\(frame.requestID) during call #\(id)"))
            }
        }
    }

    /// Forwards at most `maxLogLinesPerCall` lines per call; the rest are counted and reported once.
    private func forwardLog(_ frame: Frame) {
        guard logLines < WorkerProcess.maxLogLinesPerCall else {
            droppedLogLines += 1
            return
        }
        logLines += 1
        logSink(AppLogLine(app: spec.appID, level: Int32(bitPattern: frame.op),
                           message: String(decoding: frame.payload.prefix(4096), as: UTF8.self), requestID: currentTag))
    }

    private func endCallLogs() {
        if droppedLogLines > 0 {
            logSink(AppLogLine(app: spec.appID, level: 3, message: "host: dropped \(droppedLogLines) log lines past \(WorkerProcess.maxLogLinesPerCall) in one call",
                               requestID: currentTag))
        }
        logLines = 0
        droppedLogLines = 0
    }

    /// The first few fatal reports are kept; a flood of them changes nothing.
    func keepFatal(_ frame: Frame) {
        if fatalFrames.count < WorkerProcess.maxFatalFrames { fatalFrames.append(frame) }
    }

    /// `WorkerProcess.pipeline`, under the call lock.
    func pipeline(_ calls: [WorkerCall], timeoutMs: Int? = nil, each: (Int, PipelineOutcome) -> Void) -> WorkerDeath? {
        let timeout = timeoutMs ?? spec.callTimeoutMs
        if let death {
            for i in calls.indices { each(i, .notStarted) }
            return death
        }
        var sent: [(index: Int, id: UInt64, payload: HandlePayload)] = []
        var sendError: WireError?
        var unsent = calls.count
        for (index, call) in calls.enumerated() {
            let payload = call.payload
            // A call from another app that waited here past that app's deadline is answered without running:
            // nobody waits for it any more.
            if let inherited = payload.deadlineNs, inherited <= MonotonicClock.nowNs() + 5_000_000 {
                each(index, .reply(CallReply(status: SynStatus.timeout, httpStatus: 0,
                                             body: Array("the calling app's deadline passed while this call waited for '\(spec.appID)'".utf8))))
                unsent = index + 1
                continue
            }
            let id = WorkerProcess.nextRequestID.add(1, ordering: .relaxed).newValue
            do throws(WireError) {
                try link.send(.call, requestID: id, op: call.op.rawValue, count: payload.count) { payload.write(into: $0) }
            } catch {
                sendError = error
                unsent = index
                break
            }
            sent.append((index, id, payload))
            unsent = index + 1
        }
        for (k, call) in sent.enumerated() {
            switch turn(id: call.id, op: calls[call.index].op, payload: call.payload, timeoutMs: calls[call.index].timeoutMs ?? timeout) {
            case .success(let reply): each(call.index, .reply(reply))
            case .failure(let error):
                each(call.index, .died(error))
                for later in sent[(k + 1)...] { each(later.index, .notStarted) }
                for j in unsent..<calls.count { each(j, .notStarted) }
                return death
            }
        }
        if let sendError {
            // Every call that went out was answered, then the link failed. A first call that could not be sent
            // takes the death, as `handle` would: its own bytes may be what the worker could not take, and it
            // must not be sent again and again. After answered calls, the worker died between calls and the rest
            // never reached it.
            let failure = linkFailure(sendError)
            if sent.isEmpty { each(unsent, .died(failure)) }
            for j in (sent.isEmpty ? unsent + 1 : unsent)..<calls.count { each(j, .notStarted) }
        } else {
            for j in unsent..<calls.count { each(j, .notStarted) }
        }
        return death
    }

    /// Handles frames that arrive while no call is in flight. An idle worker may only die (and report why).
    func idleCheck() -> WorkerDeath? {
        guard death == nil else { return death }
        var frames = 0
        while true {
            frames += 1
            if frames > WorkerProcess.maxIdleFrames {
                return kill(.protocolViolation, "sent more than \(WorkerProcess.maxIdleFrames) frames while idle")
            }
            do {
                let frame = try link.receive(timeoutMs: 0)
                if frame.kind == .fatal { keepFatal(frame); continue }
                if frame.kind == .log { forwardLog(frame); continue }
                return kill(.protocolViolation, "unexpected \(frame.kind) frame while idle")
            } catch {
                switch error.code {
                case .timeout:
                    if pidfd >= 0 && WorkerProcess.pollReadable(pidfd, 0) { return reap() }
                    return nil
                case .closed: return reap()
                default: return kill(.protocolViolation, error.message)
                }
            }
        }
    }
}

/// What one receive produced during a call.
private enum Received {
    case reply(CallReply)
    case frame(Frame)
}
