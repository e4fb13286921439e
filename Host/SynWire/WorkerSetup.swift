/// Everything the worker needs to build its sandbox, sent by the host as the first frame (`call`, op `setup`).
///
/// The host is trusted; the worker still decodes with bounds checks.
public struct WorkerSetup: Sendable, Equatable {
    /// How a syscall outside the allowlist is answered.
    public enum DefaultAction: UInt8, Sendable {
        /// SIGSYS reporter then exit: classified `seccomp_violation`.
        case kill = 0
        /// Fails with `errnoValue`.
        case errno = 1
        /// Allowed and logged by the kernel (debug profiles).
        case log = 2
    }

    /// Unprivileged ids the worker switches to when started as root; `nil` keeps the current ids.
    public var uid: UInt32?
    public var gid: UInt32?
    /// `cgroup.procs` files the worker writes its pid into before anything else.
    public var cgroupProcs: [String] = []
    /// The library's file name inside the new root (`/app/<name>`); the library itself arrives as fd 4.
    public var libraryName: String = "app.so"
    /// Host directories bind-mounted read-only at the same path (Swift runtime, zoneinfo).
    public var bindDirectories: [String] = []
    /// Runtime libraries (absolute host paths) the worker loads before it builds the sandbox, so that the worker's
    /// three processes share one relocated copy and the app's `dlopen` finds them loaded. Only libraries the host
    /// chose (the Swift runtime's, for a Swift app); never the app's own.
    public var preload: [String] = []
    /// Bind-mount the host's `/dev/urandom` (without `nodev`).
    public var devURandom: Bool = false
    /// Mount a `/proc` of the sandbox's pid namespace, process directories only.
    public var procfs: Bool = false
    /// rlimits. `addressSpace` 0 means unlimited.
    public var addressSpace: UInt64 = 0
    public var openFiles: UInt64 = 32
    public var processes: UInt64 = 64
    public var cpuSeconds: UInt64 = 3600
    /// Seccomp stage B.
    public var defaultAction: DefaultAction = .kill
    public var errnoValue: UInt32 = 38 // ENOSYS
    public var allow: [String] = []
    public var errnoRules: [ErrnoRule] = []
    public var threads: Bool = false
    public var execMemory: Bool = false
    /// The largest message the worker accepts from the host.
    public var maxMessage: UInt64 = 1 << 20
    /// The arena limit per call.
    public var arenaLimit: UInt64 = 16 << 20
    /// The app id the library's `synapp_magic` must report.
    public var appID: String = ""
    /// Pins the worker to one CPU (benchmarks); -1 leaves it free.
    public var pinCPU: Int32 = -1
    /// Skip namespaces, mounts and seccomp: only for `synapp-worker` self-tests; the host never sets it.
    public var unsandboxed: Bool = false
    /// Whether `messages.publish` grants `client.*`: the worker then queues client notices for the call's commit
    /// instead of forwarding each one (the host checks every notice again when they are handed over).
    public var clientNotices: Bool = false
    /// A probe of a library being installed: load it and check its `synapp_magic` (app id, ABI major) in the
    /// sandbox, answer the init frame with what it reports, and never call the app's `init` or any other slot.
    public var probe: Bool = false
    /// The app's own database, when the app may use storage. Its three files (`app.db`, `-wal`, `-shm`) follow
    /// this frame on the link as descriptors, in one message.
    public var storage: Storage?

    /// What the worker needs to run the app's database itself.
    public struct Storage: Sendable, Equatable {
        /// The storage quota: `RLIMIT_FSIZE` of the app process and SQLite's page limit.
        public var quotaBytes: UInt64
        /// Whether `kv_*` are granted (`storage.kv`); ungranted slots go to the host, which denies and audits them.
        public var kv: Bool
        /// Whether `sql_*` are granted (`storage.sql`).
        public var sql: Bool
        /// How long one call may run (`limits.call_timeout_ms`): the app's statements stop a little before.
        public var callTimeoutMs: UInt32
        /// Several instances of the app share the database (WAL locking through `-shm`); a lone instance holds it
        /// exclusively, which spares the locks of every transaction.
        public var shared: Bool
        /// The host's cursor of this app's outbox: the epoch it last stored rows of, and the last sequence number.
        /// A database whose outbox has not reached that number under that epoch was restored from an older copy;
        /// the worker gives its outbox a new epoch, so the host does not take its new rows for re-sends.
        public var cursorEpoch: [UInt8]
        public var cursorSeq: Int64
        public init(quotaBytes: UInt64, kv: Bool, sql: Bool, callTimeoutMs: UInt32, shared: Bool,
                    cursorEpoch: [UInt8] = [], cursorSeq: Int64 = 0) {
            self.quotaBytes = quotaBytes
            self.kv = kv
            self.sql = sql
            self.callTimeoutMs = callTimeoutMs
            self.shared = shared
            self.cursorEpoch = cursorEpoch
            self.cursorSeq = cursorSeq
        }
    }

    /// A syscall answered with an errno instead of the default action.
    public struct ErrnoRule: Sendable, Equatable {
        public var syscall: String
        public var errno: UInt32
        public init(syscall: String, errno: UInt32) {
            self.syscall = syscall
            self.errno = errno
        }
    }

    public init() {}

    public func encode() -> [UInt8] {
        var w = WireWriter(capacity: 512)
        w.u32(5) // format version
        w.u32(uid ?? UInt32.max)
        w.u32(gid ?? UInt32.max)
        w.strings(cgroupProcs)
        w.string(libraryName)
        w.strings(bindDirectories)
        w.strings(preload)
        w.bool(devURandom)
        w.bool(procfs)
        w.u64(addressSpace); w.u64(openFiles); w.u64(processes); w.u64(cpuSeconds)
        w.u8(defaultAction.rawValue)
        w.u32(errnoValue)
        w.strings(allow)
        w.u32(UInt32(errnoRules.count))
        for r in errnoRules { w.string(r.syscall); w.u32(r.errno) }
        w.bool(threads); w.bool(execMemory)
        w.u64(maxMessage); w.u64(arenaLimit)
        w.string(appID)
        w.i32(pinCPU)
        w.bool(unsandboxed)
        w.bool(clientNotices)
        w.bool(probe)
        w.bool(storage != nil)
        if let storage {
            w.u64(storage.quotaBytes); w.bool(storage.kv); w.bool(storage.sql); w.u32(storage.callTimeoutMs)
            w.bool(storage.shared)
            w.data(storage.cursorEpoch); w.u64(UInt64(bitPattern: storage.cursorSeq))
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> WorkerSetup {
        var r = WireReader(bytes)
        guard try r.u32() == 5 else { throw WireError(.badPayload, "unknown setup format version") }
        var s = WorkerSetup()
        let uid = try r.u32(), gid = try r.u32()
        s.uid = uid == UInt32.max ? nil : uid
        s.gid = gid == UInt32.max ? nil : gid
        s.cgroupProcs = try r.strings()
        s.libraryName = try r.string(limit: 255)
        s.bindDirectories = try r.strings()
        s.preload = try r.strings()
        s.devURandom = try r.bool()
        s.procfs = try r.bool()
        s.addressSpace = try r.u64(); s.openFiles = try r.u64(); s.processes = try r.u64(); s.cpuSeconds = try r.u64()
        guard let action = DefaultAction(rawValue: try r.u8()) else {
            throw WireError(.badPayload, "unknown default action")
        }
        s.defaultAction = action
        s.errnoValue = try r.u32()
        s.allow = try r.strings()
        let n = Int(try r.u32())
        guard n <= 4096 else { throw WireError(.badPayload, "too many errno rules") }
        for _ in 0..<n { s.errnoRules.append(ErrnoRule(syscall: try r.string(), errno: try r.u32())) }
        s.threads = try r.bool(); s.execMemory = try r.bool()
        s.maxMessage = try r.u64(); s.arenaLimit = try r.u64()
        s.appID = try r.string(limit: 255)
        s.pinCPU = try r.i32()
        s.unsandboxed = try r.bool()
        s.clientNotices = try r.bool()
        s.probe = try r.bool()
        if try r.bool() {
            s.storage = Storage(quotaBytes: try r.u64(), kv: try r.bool(), sql: try r.bool(), callTimeoutMs: try r.u32(),
                                shared: try r.bool(), cursorEpoch: try r.data(limit: 64),
                                cursorSeq: Int64(bitPattern: try r.u64()))
        }
        return s
    }
}
