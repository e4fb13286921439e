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
        w.u32(1) // format version
        w.u32(uid ?? UInt32.max)
        w.u32(gid ?? UInt32.max)
        w.strings(cgroupProcs)
        w.string(libraryName)
        w.strings(bindDirectories)
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
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> WorkerSetup {
        var r = WireReader(bytes)
        guard try r.u32() == 1 else { throw WireError(.badPayload, "unknown setup format version") }
        var s = WorkerSetup()
        let uid = try r.u32(), gid = try r.u32()
        s.uid = uid == UInt32.max ? nil : uid
        s.gid = gid == UInt32.max ? nil : gid
        s.cgroupProcs = try r.strings()
        s.libraryName = try r.string(limit: 255)
        s.bindDirectories = try r.strings()
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
        return s
    }
}
