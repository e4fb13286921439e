import CSynCap
import CSynSys
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// Builds the worker's sandbox in the order of docs/architecture.md (containment steps), while the process is still single-threaded.
struct SandboxBuilder {
    let setup: WorkerSetup
    /// The library descriptor passed by the host.
    let libraryFD: Int32 = 4
    /// The link descriptor.
    let linkFD: Int32 = 3

    /// Step 1: join the cgroups the host prepared.
    func joinCgroups() throws(WorkerFailure) {
        for path in setup.cgroupProcs {
            let pid = "0"
            if csyn_write_file(path, pid, pid.utf8.count) != 0 {
                throw .setup("cannot join cgroup \(path)", errno: errno)
            }
        }
    }

    /// Step 2: leave root for the unprivileged ids the host chose. Returns the outer uid/gid to map.
    func dropToUnprivileged() throws(WorkerFailure) -> (uid: UInt32, gid: UInt32) {
        if getuid() == 0, let uid = setup.uid, let gid = setup.gid {
            guard setgroups(0, nil) == 0 else { throw .setup("setgroups", errno: errno) }
            guard setgid(gid) == 0 else { throw .setup("setgid(\(gid))", errno: errno) }
            guard setuid(uid) == 0 else { throw .setup("setuid(\(uid))", errno: errno) }
            // Changing ids clears dumpability, which would make /proc/self/{uid_map,fd} root-owned.
            _ = csyn_set_dumpable(1)
        }
        return (getuid(), getgid())
    }

    /// Step 3: new user, mount, pid, net, ipc and uts namespaces; map our outer ids to root inside.
    func enterNamespaces(outer: (uid: UInt32, gid: UInt32)) throws(WorkerFailure) {
        let flags = CSYN_NS_USER | CSYN_NS_MOUNT | CSYN_NS_PID | CSYN_NS_NET | CSYN_NS_IPC | CSYN_NS_UTS
        guard csyn_unshare(Int32(flags)) == 0 else { throw .setup("unshare(user|mnt|pid|net|ipc|uts)", errno: errno) }
        try write("/proc/self/setgroups", "deny")
        try write("/proc/self/uid_map", "0 \(outer.uid) 1\n")
        try write("/proc/self/gid_map", "0 \(outer.gid) 1\n")
    }

    /// Step 5: a private, read-only tmpfs root holding only the app's library and the profile's runtime files.
    func buildRoot() throws(WorkerFailure) {
        guard csyn_mount(nil, "/", nil, CSYN_MS_REC | CSYN_MS_PRIVATE, nil) == 0 else {
            throw .setup("make / private", errno: errno)
        }
        let base = "/tmp"
        let librarySize = csyn_fd_size(libraryFD)
        guard librarySize >= 0 else { throw .setup("fstat library", errno: errno) }
        let rootSize = (librarySize + (256 << 10) + 4095) & ~4095
        guard csyn_mount("syneroym", base, "tmpfs", CSYN_MS_NOSUID | CSYN_MS_NODEV, "size=\(rootSize),mode=0755") == 0
        else { throw .setup("mount tmpfs root", errno: errno) }
        try makeDirectories(base + "/app")
        // The library is copied from the host's descriptor: a bind mount cannot cross into our mount namespace,
        // and the path may be unreachable for our unprivileged ids. The copy is exactly what the host opened.
        guard csyn_copy_fd_to_new_file(libraryFD, base + "/app/" + setup.libraryName, 0o555) == librarySize else {
            throw .setup("copy library into the sandbox root", errno: errno)
        }
        for dir in setup.bindDirectories {
            try makeDirectories(base + dir)
            try bind(dir, to: base + dir, keepingFlagsOf: dir)
        }
        if setup.devURandom {
            try makeDirectories(base + "/dev")
            try makeFile(base + "/dev/urandom")
            // Not nodev: a nodev urandom reads fail and Foundation's UUID() silently returns zeros.
            try bind("/dev/urandom", to: base + "/dev/urandom", keepingFlagsOf: "/dev/urandom")
        }
        if setup.procfs {
            // Our own pid namespace's processes only: no /proc/sys, cpuinfo, meminfo or kernel tunables.
            try makeDirectories(base + "/proc")
            guard csyn_mount("proc", base + "/proc", "proc", CSYN_MS_NOSUID | CSYN_MS_NODEV | CSYN_MS_NOEXEC,
                             "subset=pid") == 0
            else { throw .setup("mount /proc (subset=pid)", errno: errno) }
        }
        guard chdir(base) == 0 else { throw .setup("chdir new root", errno: errno) }
        guard csyn_pivot_root(".", ".") == 0 else { throw .setup("pivot_root", errno: errno) }
        guard csyn_umount_detach(".") == 0 else { throw .setup("detach old root", errno: errno) }
        guard chdir("/") == 0 else { throw .setup("chdir /", errno: errno) }
        guard csyn_mount(nil, "/", nil, CSYN_MS_REMOUNT | CSYN_MS_RDONLY | CSYN_MS_NOSUID | CSYN_MS_NODEV, nil) == 0
        else { throw .setup("remount root read-only", errno: errno) }
        close(libraryFD)
    }

    /// Step 6: rlimits, then drop every capability and set no_new_privs.
    func limitAndDropPrivileges() throws(WorkerFailure) {
        let limits: [(Int32, UInt64, String)] = [
            (0, setup.addressSpace == 0 ? UInt64.max : setup.addressSpace, "AS"),
            (1, setup.openFiles, "NOFILE"), (2, setup.processes, "NPROC"), (3, setup.cpuSeconds, "CPU"),
            // No file may grow, except the app's database files, up to the storage quota (the kernel enforces it
            // whatever the app does to its own connection).
            (4, setup.storage?.quotaBytes ?? 0, "FSIZE"), (5, 0, "CORE"),
        ]
        for (which, value, name) in limits where csyn_set_rlimit(which, value) != 0 {
            throw .setup("setrlimit(RLIMIT_\(name), \(value))", errno: errno)
        }
        guard csyn_lock_securebits() == 0 else { throw .setup("lock securebits", errno: errno) }
        guard csyn_drop_bounding_set() == 0 else { throw .setup("drop capability bounding set", errno: errno) }
        guard csyn_clear_ambient_caps() == 0 else { throw .setup("clear ambient capabilities", errno: errno) }
        guard let empty = cap_init() else { throw .setup("cap_init", errno: errno) }
        defer { cap_free(UnsafeMutableRawPointer(empty)) }
        guard cap_set_proc(empty) == 0 else { throw .setup("cap_set_proc(empty)", errno: errno) }
        guard csyn_set_no_new_privs() == 0 else { throw .setup("PR_SET_NO_NEW_PRIVS", errno: errno) }
    }

    private func write(_ path: String, _ text: String) throws(WorkerFailure) {
        guard csyn_write_file(path, text, text.utf8.count) == 0 else { throw .setup("write \(path)", errno: errno) }
    }

    private func makeDirectories(_ path: String) throws(WorkerFailure) {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw .setup("mkdir \(current)", errno: errno) }
        }
    }

    private func makeFile(_ path: String) throws(WorkerFailure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o444)
        guard fd >= 0 else { throw .setup("create \(path)", errno: errno) }
        close(fd)
    }

    /// Bind-mounts `source` on `target` read-only, keeping the source mount's locked flags (nosuid, nodev, ...).
    private func bind(_ source: String, to target: String, keepingFlagsOf flagSource: String) throws(WorkerFailure) {
        guard csyn_mount(source, target, nil, CSYN_MS_BIND | CSYN_MS_REC, nil) == 0 else {
            throw .setup("bind \(source)", errno: errno)
        }
        let inherited = csyn_mount_flags_of(target)
        let keep = inherited < 0 ? 0 : UInt(inherited)
        let flags = CSYN_MS_REMOUNT | CSYN_MS_BIND | CSYN_MS_RDONLY | CSYN_MS_NOSUID | keep
        guard csyn_mount(nil, target, nil, flags, nil) == 0 else {
            throw .setup("remount \(target) read-only", errno: errno)
        }
    }
}
