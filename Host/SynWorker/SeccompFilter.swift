import CSynSeccomp
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// Builds and loads the two seccomp stages from the profile (docs/architecture.md, containment steps 8 and 9).
struct SeccompFilter {
    let setup: WorkerSetup

    /// What the worker itself needs to serve frames, whatever the profile says.
    static let workerBase = ["read", "write", "exit_group", "brk", "mmap", "munmap", "mremap", "madvise",
                             "getrandom", "clock_gettime"]
    /// Extra syscalls the dynamic loader needs during `dlopen` (stage A only).
    static let loaderExtra = ["openat", "newfstatat", "fstat", "mmap", "mprotect", "close", "pread64", "lseek",
                              "munmap", "readlink"]
    /// What SQLite needs on the app's database descriptors once they are open (the worker opens them before any
    /// filter, through the descriptor jail, so nothing here takes a path): reads and writes at offsets, sync,
    /// size, and locks; `close`, for the copy a backup writes (`AppStore.backupStep`) opens and closes a descriptor
    /// duplicated from one the host passed. `fcntl` is further limited to `storageFcntl`.
    static let storage = ["pread64", "pwrite64", "fsync", "fdatasync", "fstat", "ftruncate", "getpid",
                          "clock_nanosleep", "close"]
    /// The `fcntl` commands SQLite uses: F_GETFD, F_GETFL, F_GETLK, F_SETLK, F_SETLKW and F_DUPFD_CLOEXEC. Not
    /// leases, signals, pipe sizes or seals.
    static let storageFcntl: [UInt64] = [1, 3, 5, 6, 7, 1030]
    /// Never allowed, whatever the profile lists.
    static let alwaysDenied = SyscallPolicy.alwaysDenied.filter { $0 != "clone3" && $0 != "tkill" }
    static let protExec: UInt64 = 0x4
    static let mapAnonymous: UInt64 = 0x20
    /// CLONE_THREAD plus every namespace flag: a permitted clone has exactly CLONE_THREAD of these.
    static let cloneCheckMask: UInt64 = 0x0001_0000 | 0x0002_0000 | 0x0200_0000 | 0x0400_0000 | 0x0800_0000
        | 0x1000_0000 | 0x2000_0000 | 0x4000_0000
    static let cloneThread: UInt64 = 0x0001_0000
    /// Write-ish open flags: O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND.
    static let openWriteMask: UInt64 = 0x1 | 0x2 | 0x40 | 0x200 | 0x400

    /// Installs stage A: stage B plus what the loader needs.
    func installLoaderStage() throws(WorkerFailure) { try install(loader: true) }
    /// Installs stage B: the profile's allowlist.
    func installProfileStage() throws(WorkerFailure) { try install(loader: false) }

    private var violationAction: UInt32 {
        switch setup.defaultAction {
        case .kill: csyn_scmp_act_trap()
        case .errno: csyn_scmp_act_errno(setup.errnoValue)
        case .log: csyn_scmp_act_log()
        }
    }

    /// Forbidden calls fail even under a logging profile.
    private var denyAction: UInt32 {
        setup.defaultAction == .kill ? csyn_scmp_act_trap() : csyn_scmp_act_errno(UInt32(EPERM))
    }

    private func install(loader: Bool) throws(WorkerFailure) {
        guard let ctx = seccomp_init(violationAction) else { throw .setup("seccomp_init failed") }
        defer { seccomp_release(ctx) }
        guard seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, csyn_scmp_act_kill_process()) == 0 else {
            throw .setup("seccomp: set bad-arch action")
        }
        // no_new_privs is already set; libseccomp must not call prctl for it (stage A would trap that).
        guard seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) == 0 else { throw .setup("seccomp: clear NNP attribute") }
        // Stage A must let the worker load stage B; stage B forbids `seccomp` like the rest.
        let denied = Set(Self.alwaysDenied).subtracting(loader ? ["seccomp"] : [])
        let errnoNames = Set(setup.errnoRules.map(\.syscall))
        var allowed = Set(Self.workerBase).union(setup.allow).subtracting(denied).subtracting(errnoNames)
        if setup.storage != nil { allowed.formUnion(Self.storage) }
        allowed.remove("clone"); allowed.remove("clone3"); allowed.remove("tkill")
        // Calls allowed only when an argument check passes; anything else meets the violation action.
        var checks: [(name: String, arg: UInt32, mask: UInt64, value: UInt64)] = []
        if loader {
            // The loader's calls win over the profile's errno rules while dlopen runs (A allows, B's errno
            // applies afterwards).
            allowed.formUnion(Self.loaderExtra)
            allowed.insert("seccomp")
        }
        // Files open read-only, whatever the profile: write flags meet the violation action. (Where a profile
        // answers openat with an errno, stage A allows it unconditionally so that errno in B never stacks on a
        // kill in A; the root is read-only anyway.)
        if allowed.contains("openat") && !(loader && errnoNames.contains("openat")) {
            allowed.remove("openat")
            checks.append(("openat", 2, Self.openWriteMask, 0))
        }
        // fcntl, for storage, only with the commands SQLite uses (a profile may still allow every command).
        if setup.storage != nil && !allowed.contains("fcntl") && !errnoNames.contains("fcntl") {
            for command in Self.storageFcntl { checks.append(("fcntl", 1, 0xFFFF_FFFF, command)) }
        }
        // prctl only names threads (PR_SET_NAME, PR_GET_NAME).
        if allowed.remove("prctl") != nil {
            checks.append(("prctl", 0, 0xFFFF_FFFF, 15))
            checks.append(("prctl", 0, 0xFFFF_FFFF, 16))
        }
        if !setup.execMemory {
            // Executable memory only for file-backed mappings while the loader runs; never anonymous, never
            // through mprotect (JIT, shellcode).
            for name in ["mmap", "mprotect", "pkey_mprotect"] where allowed.remove(name) != nil {
                checks.append((name, 2, Self.protExec, 0))
            }
            if loader { checks.append(("mmap", 3, Self.mapAnonymous, 0)) }
        }
        // Signals only to the app itself: it is always PID 2 in its pid namespace.
        for name in ["kill", "tgkill"] where allowed.remove(name) != nil {
            checks.append((name, 0, 0xFFFF_FFFF, 2))
        }
        if setup.threads {
            checks.append(("clone", 0, Self.cloneCheckMask, Self.cloneThread))
        } else if denyAction != violationAction {
            // No threads means no clone at all, even under a logging profile. (Under kill, the default does it.)
            try add(ctx, denyAction, "clone")
        }
        for name in allowed.sorted() { try add(ctx, csyn_scmp_act_allow(), name) }
        // An errno rule may soften an always-denied call from kill to an error; it never allows it.
        for rule in setup.errnoRules where !allowed.contains(rule.syscall) && rule.syscall != "clone3" {
            try add(ctx, csyn_scmp_act_errno(rule.errno), rule.syscall)
        }
        for name in denied.subtracting(errnoNames).sorted() { try add(ctx, denyAction, name, optional: true) }
        // glibc falls back from clone3 to clone on ENOSYS; clone3's flags live in memory we cannot inspect.
        try add(ctx, csyn_scmp_act_errno(UInt32(ENOSYS)), "clone3")
        for check in checks {
            try addMasked(ctx, csyn_scmp_act_allow(), check.name, arg: check.arg, mask: check.mask, value: check.value)
        }
        let r = seccomp_load(ctx)
        guard r == 0 else { throw .setup("seccomp_load (stage \(loader ? "A" : "B"))", errno: -r) }
    }

    private func number(_ name: String) -> Int32? {
        let n = seccomp_syscall_resolve_name(name)
        return n == __NR_SCMP_ERROR ? nil : n
    }

    private func add(_ ctx: scmp_filter_ctx, _ action: UInt32, _ name: String, optional: Bool = false)
        throws(WorkerFailure)
    {
        guard let nr = number(name) else {
            if optional { return }
            throw .setup("seccomp: unknown syscall \(name)")
        }
        let r = csyn_rule_add(ctx, action, nr)
        // A negative pseudo-syscall number means it does not exist on this architecture.
        if r != 0 && !(optional || nr < 0) { throw .setup("seccomp: rule for \(name)", errno: -r) }
    }

    private func addMasked(_ ctx: scmp_filter_ctx, _ action: UInt32, _ name: String, arg: UInt32, mask: UInt64,
                           value: UInt64) throws(WorkerFailure) {
        guard let nr = number(name) else { throw .setup("seccomp: unknown syscall \(name)") }
        let r = csyn_rule_add_masked(ctx, action, nr, arg, mask, value)
        guard r == 0 else { throw .setup("seccomp: conditional rule for \(name)", errno: -r) }
    }
}
