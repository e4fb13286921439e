import CSynSeccomp
import CSynSys
import SynAppStore
import SynSystem
import Synchronization
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// One running worker: a sandboxed process serving one app over a `SOCK_SEQPACKET` link.
///
/// Calls are synchronous and are served one at a time (the link carries one call at a time); the thread that
/// starts the worker should outlive it (the worker's parent-death signal follows that thread).
public final class WorkerProcess: Sendable {
    public let spec: WorkerSpec
    public let pid: Int32
    /// What the app's `init` said it is.
    public let info: LoadedAppInfo
    /// Set once the worker is gone; every later call fails with it.
    public var death: WorkerDeath? { fate.death }
    /// Why the cgroup is not enforcing limits, if it is not.
    public var cgroupUnavailable: String? { cgroupProblem }

    /// The link and the conversation on it; its lock serialises calls.
    private let session: Mutex<WorkerSession>
    private let fate: WorkerFate
    private let cgroupProblem: String?
    /// The descriptors that become readable when the worker sends something or dies, for idle watching.
    public let watchDescriptors: (socket: Int32, pidfd: Int32)
    /// Request ids are unique across every worker of this host process.
    static let nextRequestID = Atomic<UInt64>(0)
    /// Limits on what a worker may send besides its reply.
    static let maxLogLinesPerCall = 200
    static let maxFatalFrames = 8
    static let maxIdleFrames = 64
    /// Numbers this process's workers (their cgroup names and uids).
    private static let started = Atomic<Int>(0)

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
        let n = started.add(1, ordering: .relaxed).newValue
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
            // The backup copy goes to the host through the app's channel, not into a file the worker writes.
            if let channel = storage.backupChannel, databaseFDs.count == 4 {
                let end = fcntl(channel.workerEnd, F_DUPFD_CLOEXEC, 0)
                if end >= 0 {
                    close(databaseFDs[3])
                    databaseFDs[3] = end
                }
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
        let fate = WorkerFate()
        let session = WorkerSession(spec: spec, pid: pid, socket: fds[0], cgroup: cgroup, hostCalls: hostCalls,
                                    fate: fate, log: log)
        // No other thread knows the worker yet: the handshake needs no lock.
        let info = try session.handshake(setup, databaseFDs: databaseFDs)
        return WorkerProcess(session: session, fate: fate, info: info)
    }

    private init(session: sending WorkerSession, fate: WorkerFate, info: LoadedAppInfo) {
        spec = session.spec
        pid = session.pid
        cgroupProblem = session.cgroup.unavailable
        watchDescriptors = (session.socket, session.pidfd)
        self.fate = fate
        self.info = info
        self.session = Mutex(session)
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
        let result: Result<CallReply, WorkerError> = session.withLock { session in
            do throws(WorkerError) { return .success(try session.exchange(op, payload: payload, timeoutMs: timeoutMs)) } catch {
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
        session.withLock { session in
            if session.death == nil { _ = session.kill(outcome, detail) }
        }
    }

    /// Kills the worker from any thread, even while a call is in flight; that call then fails with
    /// `outcome`/`detail` instead of the signal's classification.
    public func interrupt(_ outcome: Outcome = .exit, _ detail: String = "stopped by the host") {
        fate.interrupt(WorkerDeath(outcome, detail))
        Glibc.kill(pid, SIGKILL)
    }

    /// Handles frames that arrive while no call is in flight. An idle worker may only die (and report why).
    public func checkIdle() -> WorkerDeath? {
        session.withLock { $0.idleCheck() }
    }

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
        session.withLock { $0.pipeline(calls, timeoutMs: timeoutMs, each: each) }
    }

    /// CPU time used so far: the final figure once reaped, else a sample of the outer process, its init and
    /// the app (with all its threads) from /proc.
    public func cpuTimeNs() -> Int64 {
        if let final = fate.finalCPUNs { return final }
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
}

/// Runs `body` with a NULL-terminated C array of C strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
