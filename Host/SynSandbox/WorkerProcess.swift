import CSynSeccomp
import CSynSys
import SynAppStore
import Synchronization
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// One running worker: a sandboxed process serving one app over a `SOCK_SEQPACKET` link.
///
/// Calls are synchronous and must come from one thread at a time; the thread that starts the worker should
/// outlive it (the worker's parent-death signal follows that thread).
public final class WorkerProcess: @unchecked Sendable {
    public let spec: WorkerSpec
    public let pid: Int32
    public private(set) var info: LoadedAppInfo?
    /// Set once the worker is gone; every later call fails with it.
    public private(set) var death: WorkerDeath?
    /// Why the cgroup is not enforcing limits, if it is not.
    public var cgroupUnavailable: String? { cgroup.unavailable }

    private let link: FrameLink
    private let socket: Int32
    private let pidfd: Int32
    private let cgroup: WorkerCgroup
    private let hostCalls: any HostCallHandler
    private let logSink: @Sendable (AppLogLine) -> Void
    /// The request id of the call in progress, for its log lines.
    private var currentTag = ""
    /// Request ids are unique across every worker of this host process.
    private static let nextRequestID = Atomic<UInt64>(0)
    /// Serialises calls: the link carries one call at a time.
    private let callLock = Mutex()
    private var fatalFrames: [Frame] = []
    /// Log lines forwarded in the current call, and how many were dropped past `maxLogLinesPerCall`.
    private var logLines = 0
    private var droppedLogLines = 0
    /// Limits on what a worker may send besides its reply.
    static let maxLogLinesPerCall = 200
    static let maxFatalFrames = 8
    static let maxIdleFrames = 64
    private nonisolated(unsafe) static var counter = 0
    private static let counterLock = Mutex()

    /// Spawns the worker, builds its sandbox, loads the app and runs its `init`.
    ///
    /// - Parameter useTemplate: clone from a pre-started template process (fast) instead of `posix_spawn`.
    public static func start(_ spec: WorkerSpec, hostCalls: any HostCallHandler = UnsupportedHostCalls(),
                             useTemplate: Bool = true,
                             log: @escaping @Sendable (AppLogLine) -> Void = { _ in })
        throws(WorkerError) -> WorkerProcess
    {
        // Checked first, so that nothing is left to clean up when it fails.
        let uidBase = WorkerUIDs.base ?? 0
        if getuid() == 0 && spec.setup.uid == nil && WorkerUIDs.base == nil {
            throw .refused(SandboxError(.spawn, "no block of \(WorkerUIDs.blockSize) uids below 2^31 is free of /etc/passwd, /etc/group, /etc/subuid and /etc/subgid: workers need ids of their own"))
        }
        let libraryFD = open(spec.libraryPath, O_RDONLY | O_CLOEXEC)
        guard libraryFD >= 0 else {
            throw .refused(SandboxError(.spawn, "cannot open library \(spec.libraryPath): errno \(errno)"))
        }
        defer { close(libraryFD) }
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw .refused(SandboxError(.spawn, "socketpair failed: errno \(errno)"))
        }
        let n = counterLock.withLock { () -> Int in counter += 1; return counter }
        let cgroup = WorkerCgroup(name: "syneroym-\(spec.appID)-\(getpid())-\(n)",
                                  limits: .init(memoryBytes: spec.memoryBytes, pids: spec.pids + 2,
                                                cpuPercent: spec.setup.threads || spec.cpuPercent < 100 ? spec.cpuPercent : nil))
        var setup = spec.setup
        setup.cgroupProcs = cgroup.procsFiles
        // A Swift app's runtime libraries are loaded before the sandbox (and shared through its template).
        setup.preload = RuntimeDirectories.preload(forNeeded: ELFDependencies.needed(fd: libraryFD))
        // The app's database: the worker opens it on these descriptors, and the kernel caps its files at the quota.
        var databaseFDs: [Int32] = []
        defer { for fd in databaseFDs { close(fd) } }
        if let storage = hostCalls.storage(for: spec.appID) {
            do throws(StoreFailure) { databaseFDs = try AppStoreFiles.openAll(directory: storage.directory) } catch {
                close(fds[0]); close(fds[1])
                cgroup.remove()
                throw .refused(SandboxError(.spawn, error.message))
            }
            setup.storage = WorkerSetup.Storage(quotaBytes: storage.quotaBytes, kv: storage.kv, sql: storage.sql,
                                                callTimeoutMs: UInt32(clamping: spec.callTimeoutMs),
                                                shared: spec.sharedDatabase, cursorEpoch: storage.cursorEpoch,
                                                cursorSeq: storage.cursorSeq)
        }
        if getuid() == 0 && setup.uid == nil {
            // A distinct unprivileged id per worker: RLIMIT_NPROC binds, and no two apps share file ownership. The
            // ids come from a block that no account or subordinate range on this machine uses.
            setup.uid = UInt32(uidBase + UInt64(Int(getpid()) % 1000) * 1000 + UInt64(n % 1000))
            setup.gid = setup.uid
        }
        var pid: pid_t = 0
        var spawnError: Int32 = 0
        if useTemplate, let cloned = WorkerTemplate.spawn(executable: spec.workerExecutable, preload: setup.preload, link: fds[1], library: libraryFD) {
            pid = cloned
        } else {
            let argv = ["synapp-worker", spec.appID]
            let env = ["SWIFT_BACKTRACE=enable=no", "LANG=C"]
            spawnError = withCStrings(argv) { a in
                withCStrings(env) { e in
                    csyn_spawn_worker(spec.workerExecutable, a, e, fds[1], libraryFD, -1, &pid)
                }
            }
        }
        close(fds[1])
        guard spawnError == 0 else {
            close(fds[0])
            cgroup.remove()
            throw .refused(SandboxError(.spawn, "cannot spawn \(spec.workerExecutable): errno \(spawnError)"))
        }
        let worker = WorkerProcess(spec: spec, pid: pid, socket: fds[0], cgroup: cgroup, hostCalls: hostCalls,
                                   log: log)
        try worker.handshake(setup, databaseFDs: databaseFDs)
        return worker
    }

    private init(spec: WorkerSpec, pid: Int32, socket: Int32, cgroup: WorkerCgroup, hostCalls: any HostCallHandler,
                 log: @escaping @Sendable (AppLogLine) -> Void) {
        self.spec = spec
        self.pid = pid
        self.socket = socket
        self.pidfd = csyn_pidfd_open(pid)
        self.cgroup = cgroup
        self.hostCalls = hostCalls
        self.logSink = log
        self.link = FrameLink(fd: socket, maxMessage: spec.maxMessage, noSignal: true)
    }

    deinit {
        if death == nil { _ = kill(.exit, "the host released the worker") }
        close(socket)
        if pidfd >= 0 { close(pidfd) }
    }

    private func handshake(_ setup: WorkerSetup, databaseFDs: [Int32]) throws(WorkerError) {
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
            terminate(.exit, "init failed")
            if reply.status == -3 { // SYN_E_DENIED
                throw .refused(SandboxError(.denied, "the app's init was denied a capability: \(message)"))
            }
            throw .refused(SandboxError(.load, "the app's init returned status \(reply.status): \(message)"))
        }
        var r = WireReader(reply.body)
        guard let id = try? r.string(limit: 255), let version = try? r.string(limit: 255), let minor = try? r.u32()
        else { throw .died(kill(.protocolViolation, "malformed init reply")) }
        info = LoadedAppInfo(appID: id, version: version, abiMinor: minor)
    }

    /// Calls the app's `handle`. Throws when the worker dies during the call (it is then gone for good).
    public func handle(method: String, caller: [UInt8] = [], body: [UInt8] = [], timeoutMs: Int? = nil, tag: String = "")
        throws(WorkerError) -> CallReply
    {
        try locked(.handle, WorkerCall.handle(method: method, caller: caller, body: body, tag: tag).payload,
                   timeoutMs ?? spec.callTimeoutMs)
    }

    /// One call under the call lock.
    private func locked(_ op: CallOp, _ payload: HandlePayload, _ timeoutMs: Int) throws(WorkerError) -> CallReply {
        let result: Result<CallReply, WorkerError> = callLock.withLock {
            do throws(WorkerError) { return .success(try exchange(op, payload: payload, timeoutMs: timeoutMs)) } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Asks the app to shut down, then makes sure the worker is gone.
    public func shutdown() {
        guard death == nil else { return }
        _ = try? locked(.shutdown, HandlePayload(raw: []), min(spec.callTimeoutMs, 2000))
        if death == nil { terminate(.exit, "shut down by the host") }
    }

    /// Kills the worker now (e.g. the supervisor stops the app).
    public func terminate(_ outcome: Outcome = .exit, _ detail: String = "stopped by the host") {
        callLock.withLock {
            if death == nil { _ = kill(outcome, detail) }
        }
    }

    /// Kills the worker from any thread, even while a call is in flight; that call then fails with
    /// `outcome`/`detail` instead of the signal's classification.
    public func interrupt(_ outcome: Outcome = .exit, _ detail: String = "stopped by the host") {
        interruptLock.withLock { interruption = WorkerDeath(outcome, detail) }
        Glibc.kill(pid, SIGKILL)
    }

    /// The descriptors that become readable when the worker sends something or dies, for idle watching.
    public var watchDescriptors: (socket: Int32, pidfd: Int32) { (socket, pidfd) }

    /// Handles frames that arrive while no call is in flight. An idle worker may only die (and report why).
    public func checkIdle() -> WorkerDeath? {
        callLock.withLock { idleCheck() }
    }

    private func idleCheck() -> WorkerDeath? {
        guard death == nil else { return death }
        var frames = 0
        while true {
            frames += 1
            if frames > Self.maxIdleFrames {
                return kill(.protocolViolation, "sent more than \(Self.maxIdleFrames) frames while idle")
            }
            do {
                let frame = try link.receive(timeoutMs: 0)
                if frame.kind == .fatal { keepFatal(frame); continue }
                if frame.kind == .log { forwardLog(frame); continue }
                return kill(.protocolViolation, "unexpected \(frame.kind) frame while idle")
            } catch {
                switch error.code {
                case .timeout:
                    if pidfd >= 0 && Self.pollReadable(pidfd, 0) { return reap() }
                    return nil
                case .closed: return reap()
                default: return kill(.protocolViolation, error.message)
                }
            }
        }
    }

    // MARK: - The exchange

    /// Sends `calls` back to back, so the worker serves one after another without waiting for the host in between,
    /// then collects the replies in order and reports each call's outcome through `each` as its reply arrives.
    /// Each call's timeout runs from its turn: when the worker answered the call before it.
    ///
    /// The caller keeps a batch small (`AppSupervisor` sends at most `maxPipelinedBytes`), so it fits the socket
    /// buffer and sending never waits on the worker. If the worker dies, the call it was serving reports `died` and
    /// the later ones `notStarted`: the worker serves calls strictly in order, so it never ran them. A worker known
    /// to be gone starts none of them; one that dies between calls blames no call, unless the batch's first call
    /// could not even be sent. Returns the worker's death, if it is gone after the batch.
    @discardableResult
    public func pipeline(_ calls: [WorkerCall], timeoutMs: Int? = nil, each: (Int, PipelineOutcome) -> Void) -> WorkerDeath? {
        callLock.withLock { () -> WorkerDeath? in
            let timeout = timeoutMs ?? spec.callTimeoutMs
            if let death {
                for i in calls.indices { each(i, .notStarted) }
                return death
            }
            var sent: [(id: UInt64, payload: HandlePayload)] = []
            var sendError: WireError?
            for call in calls {
                let id = Self.nextRequestID.add(1, ordering: .relaxed).newValue
                let payload = call.payload
                do throws(WireError) {
                    try link.send(.call, requestID: id, op: call.op.rawValue, count: payload.count) { payload.write(into: $0) }
                } catch {
                    sendError = error
                    break
                }
                sent.append((id, payload))
            }
            for (i, call) in sent.enumerated() {
                switch turn(id: call.id, op: calls[i].op, payload: call.payload, timeoutMs: timeout) {
                case .success(let reply): each(i, .reply(reply))
                case .failure(let error):
                    each(i, .died(error))
                    for j in (i + 1)..<calls.count { each(j, .notStarted) }
                    return death
                }
            }
            if let sendError {
                // Every call that went out was answered, then the link failed. A first call that could not be sent
                // takes the death, as `handle` would: its own bytes may be what the worker could not take, and it
                // must not be sent again and again. After answered calls, the worker died between calls and the rest
                // never reached it.
                let failure = linkFailure(sendError)
                if sent.isEmpty { each(0, .died(failure)) }
                for j in max(sent.count, 1)..<calls.count { each(j, .notStarted) }
            }
            return death
        }
    }

    /// One call: sent, then its turn.
    private func exchange(_ op: CallOp, payload: HandlePayload, timeoutMs: Int) throws(WorkerError) -> CallReply {
        if let death { throw .died(death) }
        let id = Self.nextRequestID.add(1, ordering: .relaxed).newValue
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
        let context = HostCallContext(app: spec.appID, requestID: id, caller: payload.caller,
                                      deadlineNs: Self.nowNs() + Int64(timeoutMs) * 1_000_000, tag: payload.tag)
        do throws(WorkerError) {
            let reply = try awaitReply(context, timeoutMs: timeoutMs)
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
    private func awaitReply(_ context: HostCallContext, timeoutMs: Int) throws(WorkerError) -> CallReply {
        currentTag = context.tag
        defer { endCallLogs() }
        let id = context.requestID
        let deadline = context.deadlineNs / 1_000_000
        while true {
            let remaining = deadline - Self.nowMs()
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
                let answer = hostCalls.hostCall(context, op: hostOp, payload: frame.payload)
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
        guard logLines < Self.maxLogLinesPerCall else {
            droppedLogLines += 1
            return
        }
        logLines += 1
        logSink(AppLogLine(app: spec.appID, level: Int32(bitPattern: frame.op),
                           message: String(decoding: frame.payload.prefix(4096), as: UTF8.self), requestID: currentTag))
    }

    private func endCallLogs() {
        if droppedLogLines > 0 {
            logSink(AppLogLine(app: spec.appID, level: 3, message: "host: dropped \(droppedLogLines) log lines past \(Self.maxLogLinesPerCall) in one call",
                               requestID: currentTag))
        }
        logLines = 0
        droppedLogLines = 0
    }

    /// The first few fatal reports are kept; a flood of them changes nothing.
    private func keepFatal(_ frame: Frame) {
        if fatalFrames.count < Self.maxFatalFrames { fatalFrames.append(frame) }
    }

    /// After a fatal frame, or a closed link, the worker is going away: collect its last words, then reap it.
    /// A worker that reports its death but keeps its link open past the window is lying about it.
    private func drainAfterFatal() throws(WorkerError) -> WorkerDeath {
        let deadline = Self.nowMs() + 2000
        while true {
            let remaining = deadline - Self.nowMs()
            if remaining <= 0 { return kill(.protocolViolation, "reported its death but kept running") }
            do {
                let frame = try link.receive(timeoutMs: Int32(clamping: remaining))
                if frame.kind == .fatal { keepFatal(frame) }
            } catch {
                if error.code == .closed { break }
                if error.code != .timeout { return kill(.protocolViolation, error.message) }
            }
        }
        return try reapOrRefuse()
    }

    /// Reaps a worker that closed its link; a setup or load failure becomes `refused`.
    private func reapOrRefuse() throws(WorkerError) -> WorkerDeath {
        let death = reap()
        for frame in fatalFrames {
            let message = String(decoding: frame.payload, as: UTF8.self)
            if frame.op == FatalOp.setupFailed.rawValue { throw .refused(SandboxError(.setup, message)) }
            if frame.op == FatalOp.loadRefused.rawValue { throw .refused(SandboxError(.load, message)) }
        }
        return death
    }

    // MARK: - Death

    private var forcedDeath: WorkerDeath?
    /// The whole worker's CPU time once reaped (guarded by `interruptLock`, read from other threads).
    private var finalCPUNs: Int64?
    private let interruptLock = Mutex()
    private var interruption: WorkerDeath?

    /// Kills the worker for `outcome` and reaps it.
    private func kill(_ outcome: Outcome, _ detail: String) -> WorkerDeath {
        forcedDeath = WorkerDeath(outcome, detail)
        Glibc.kill(pid, SIGKILL)
        return reap()
    }

    /// Waits for the worker to exit (killing it if it lingers) and classifies its death.
    @discardableResult
    private func reap() -> WorkerDeath {
        if let death { return death }
        if pidfd >= 0 && !Self.pollReadable(pidfd, 2000) { Glibc.kill(pid, SIGKILL) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        // The outer process waited for init, which waited for the app: this covers the whole worker.
        let cpu = Self.nanoseconds(usage.ru_utime) + Self.nanoseconds(usage.ru_stime)
        interruptLock.withLock { finalCPUNs = cpu }
        let result = classify(outerStatus: status)
        cgroup.remove()
        death = result
        return result
    }

    private func classify(outerStatus: Int32) -> WorkerDeath {
        if let forcedDeath { return forcedDeath }
        if let interrupted = interruptLock.withLock({ interruption }) { return interrupted }
        var fate: (signaled: Bool, value: Int32)?
        for frame in fatalFrames {
            var r = WireReader(frame.payload)
            switch FatalOp(rawValue: frame.op) {
            case .seccomp:
                let nr = (try? r.i32()) ?? -1
                let arch = (try? r.u32()) ?? 0
                return WorkerDeath(.seccompViolation, Self.syscallName(nr, arch: arch))
            case .appFate:
                if let how = try? r.i32(), let value = try? r.i32() { fate = (how == 1, value) }
            case .setupFailed: return WorkerDeath(.protocolViolation, "sandbox setup failed: " + String(decoding: frame.payload, as: UTF8.self))
            case .loadRefused: return WorkerDeath(.protocolViolation, "load refused: " + String(decoding: frame.payload, as: UTF8.self))
            case nil: return WorkerDeath(.protocolViolation, "unknown fatal report \(frame.op)")
            }
        }
        if cgroup.oomKills() > 0 {
            return WorkerDeath(.memoryQuota, "killed by the cgroup memory limit of \(spec.memoryBytes >> 20) MiB (profile key limits.memory_mb)")
        }
        guard let fate else {
            if csyn_wifsignaled(outerStatus) != 0 {
                return WorkerDeath(.crash, "worker killed by \(SignalNames.name(csyn_wtermsig(outerStatus))) before reporting")
            }
            return WorkerDeath(.exit, "worker exited with code \(csyn_wexitstatus(outerStatus)) before reporting")
        }
        if fate.signaled {
            switch fate.value {
            case SIGSYS: return WorkerDeath(.seccompViolation, "unreported syscall (SIGSYS)")
            case SIGXCPU: return WorkerDeath(.cpuQuota, "CPU budget of \(spec.setup.cpuSeconds) s exhausted (profile key limits.cpu_seconds)")
            case SIGXFSZ: return WorkerDeath(.crash, "SIGXFSZ: the app tried to write a file")
            default: return WorkerDeath(.crash, SignalNames.name(fate.value))
            }
        }
        if fate.value == 159 { return WorkerDeath(.seccompViolation, "syscall reported lost") }
        return WorkerDeath(.exit, "the app exited with code \(fate.value)")
    }

    /// CPU time used so far: the final figure once reaped, else a sample of the outer process, its init and
    /// the app (with all its threads) from /proc.
    public func cpuTimeNs() -> Int64 {
        if let final = interruptLock.withLock({ finalCPUNs }) { return final }
        var total: Int64 = 0
        var frontier = [pid]
        var seen = 0
        while let next = frontier.popLast(), seen < 8 {
            seen += 1
            total += Self.procCPUNs(next)
            frontier += Self.children(of: next)
        }
        return total
    }

    static func nanoseconds(_ tv: timeval) -> Int64 { Int64(tv.tv_sec) * 1_000_000_000 + Int64(tv.tv_usec) * 1000 }

    /// utime + stime of a process, from /proc/PID/stat (fields 14 and 15, in clock ticks).
    static func procCPUNs(_ pid: Int32) -> Int64 {
        guard let text = WorkerCgroup.read("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Int64(fields[11]), let stime = Int64(fields[12]) else { return 0 }
        let ticks = Int64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        return (utime + stime) * 1_000_000_000 / ticks
    }

    static func children(of pid: Int32) -> [Int32] {
        (WorkerCgroup.read("/proc/\(pid)/task/\(pid)/children") ?? "").split(separator: " ").compactMap { Int32($0) }
    }

    static func syscallName(_ nr: Int32, arch: UInt32) -> String {
        if let name = seccomp_syscall_resolve_num_arch(arch == 0 ? csyn_scmp_arch_native() : arch, nr) {
            defer { free(name) }
            return String(cString: name)
        }
        return "syscall \(nr)"
    }

    static func pollReadable(_ fd: Int32, _ timeoutMs: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let r = poll(&p, 1, timeoutMs)
            if r >= 0 { return r > 0 }
            if errno != EINTR { return false }
        }
    }

    static func nowNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// What one receive produced during a call.
private enum Received {
    case reply(CallReply)
    case frame(Frame)
}

/// Runs `body` with a NULL-terminated C array of C strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
