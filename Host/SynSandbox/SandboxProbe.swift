import CSynSeccomp
import CSynSys
#if canImport(Glibc)
import Glibc
#endif

/// Checks of what the sandbox needs from the kernel, for `syneroym doctor`: each says what works or how to fix it.
public enum SandboxProbe {
    /// One check's verdict.
    public struct Result: Sendable, Equatable {
        public let ok: Bool
        /// What was found, or what is wrong.
        public let detail: String
        /// How to fix it (empty when `ok`).
        public let fix: String
        public init(ok: Bool, detail: String, fix: String) {
            self.ok = ok
            self.detail = detail
            self.fix = fix
        }
    }

    /// Whether this process can create the namespaces every worker unshares.
    public static func namespaces() -> Result {
        let flags = CSYN_NS_USER | CSYN_NS_MOUNT | CSYN_NS_PID | CSYN_NS_NET | CSYN_NS_IPC | CSYN_NS_UTS
        let result = csyn_probe_unshare(Int32(flags))
        if result == 0 { return Result(ok: true, detail: "user, mount, pid, net, ipc and uts namespaces can be created", fix: "") }
        var fix = "allow unprivileged user namespaces: sysctl -w kernel.unprivileged_userns_clone=1 (Debian) and user.max_user_namespaces > 0"
        if let max = read("/proc/sys/user/max_user_namespaces"), max.trimmingCharacters() == "0" {
            fix = "user.max_user_namespaces is 0: sysctl -w user.max_user_namespaces=15000"
        } else if let clone = read("/proc/sys/kernel/unprivileged_userns_clone"), clone.trimmingCharacters() == "0" {
            fix = "sysctl -w kernel.unprivileged_userns_clone=1 (and set it in /etc/sysctl.d/ to keep it)"
        } else if let apparmor = read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"), apparmor.trimmingCharacters() == "1" {
            fix = "AppArmor restricts user namespaces: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or run the node as root"
        }
        let why = result > 0 ? String(cString: strerror(result)) : "the probe could not fork"
        return Result(ok: false, detail: "cannot create the worker's namespaces: \(why)", fix: fix)
    }

    /// Whether the kernel filters syscalls with seccomp, as libseccomp sees it.
    public static func seccomp() -> Result {
        let api = seccomp_api_get()
        // The kernel shows a Seccomp: line in /proc/<pid>/status when it was built with seccomp.
        let enabled = read("/proc/self/status")?.contains("\nSeccomp:") ?? false
        guard enabled, api >= 1 else {
            return Result(ok: false, detail: "seccomp filtering is not available (kernel support \(enabled ? "present" : "absent"), libseccomp API level \(api))",
                          fix: "use a kernel built with CONFIG_SECCOMP_FILTER (every Debian kernel is)")
        }
        let version = seccomp_version().pointee
        return Result(ok: true, detail: "seccomp filters available (libseccomp \(version.major).\(version.minor).\(version.micro), API level \(api))", fix: "")
    }

    /// Whether a worker cgroup can be made and limited (memory, pids), by making one and removing it.
    public static func cgroups() -> Result {
        let group = WorkerCgroup(name: "syneroym-doctor-\(getpid())-0",
                                 limits: .init(memoryBytes: 64 << 20, pids: 16, cpuPercent: 50))
        defer { group.remove() }
        if let why = group.unavailable {
            return Result(ok: false, detail: "workers run without cgroup limits (rlimits only): \(why)",
                          fix: WorkerCgroup.hostUsesV2
                              ? "delegate a cgroup v2 subtree with the memory, pids and cpu controllers to the node, and run it alone there (systemd: Delegate=yes, see deploy/syneroym.service)"
                              : "cgroup v1: run the node as root with write access to /sys/fs/cgroup/{memory,pids,cpu}, or chown its cgroups there to the node's user")
        }
        let kind = group.isV2 ? "cgroup v2" : "cgroup v1"
        return Result(ok: true, detail: "\(kind) memory, pids and cpu limits can be set for workers", fix: "")
    }

    /// The uids a root-run node gives its workers, clear of every account, group and subordinate range.
    public static func workerUIDs() -> Result {
        guard getuid() == 0 else {
            return Result(ok: true, detail: "not root: each worker keeps the node's uid, mapped to root in its own user namespace", fix: "")
        }
        guard let base = WorkerUIDs.base else {
            return Result(ok: false, detail: "no block of \(WorkerUIDs.blockSize) uids below 2^31 is free of /etc/passwd, /etc/group, /etc/subuid and /etc/subgid",
                          fix: "shrink or move the subordinate ranges in /etc/subuid and /etc/subgid")
        }
        return Result(ok: true, detail: "workers run as uids \(base)–\(base + WorkerUIDs.blockSize - 1), which no account, group or subuid/subgid range uses", fix: "")
    }

    private static func read(_ path: String) -> String? { WorkerCgroup.read(path) }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        String(self.drop { $0 == " " || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\n" }.reversed())
    }
}
