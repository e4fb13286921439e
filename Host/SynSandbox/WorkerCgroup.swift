#if canImport(Glibc)
import Glibc
#endif

/// The cgroup(s) of one worker: created under the host's own cgroup, limited, read, and removed.
///
/// Uses the v1 memory, pids and cpu controllers where mounted, or cgroup v2 where those controllers are enabled.
/// Where neither is usable (not root, no delegation) the worker runs with rlimits only and `unavailable` says why.
public final class WorkerCgroup: @unchecked Sendable {
    /// Limits written into the cgroup.
    struct Limits: Equatable {
        var memoryBytes: UInt64
        var pids: Int
        /// Nil when the quota cannot bind (a single-threaded app at 100% or more): the worker then stays out of
        /// the cpu controller, whose group scheduling costs every call about a microsecond and a half.
        var cpuPercent: Int?
    }

    /// Directories of this worker's cgroup, one per v1 controller, or one for v2.
    private(set) var directories: [String] = []
    private(set) var isV2 = false
    /// Why limits are not enforced by a cgroup, or nil when they are.
    private(set) var unavailable: String?

    /// The `cgroup.procs` files the worker joins.
    var procsFiles: [String] { directories.map { $0 + "/cgroup.procs" } }

    init(name: String, limits: Limits) {
        _ = Self.sweepOnce
        let own = Self.ownCgroups()
        if Self.hostUsesV2 {
            if let parent = Self.v2Parent.directory {
                createV2(parent: parent, name: name, limits: limits)
            } else {
                unavailable = Self.v2Parent.problem
            }
        } else {
            createV1(own: own, name: name, limits: limits)
        }
    }

    /// OOM kills counted by the memory controller since creation.
    func oomKills() -> Int {
        guard let dir = memoryDirectory else { return 0 }
        let file = isV2 ? dir + "/memory.events" : dir + "/memory.oom_control"
        guard let text = Self.read(file) else { return 0 }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == "oom_kill", let n = Int(parts[1]) { return n }
        }
        return 0
    }

    /// Kills every process left in the cgroup and removes the directories.
    func remove() {
        for dir in directories {
            for _ in 0..<2000 {
                let pids = (Self.read(dir + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
                for pid in pids { kill(pid, SIGKILL) }
                if rmdir(dir) == 0 || errno == ENOENT { break }
                usleep(500)
            }
        }
        directories = []
    }

    private var memoryDirectory: String? {
        isV2 ? directories.first : directories.first { $0.hasPrefix("/sys/fs/cgroup/memory/") }
    }

    private func createV1(own: [String: String], name: String, limits: Limits) {
        var made: [String] = []
        for controller in ["memory", "pids"] + (limits.cpuPercent == nil ? [] : ["cpu"]) {
            guard let path = own[controller] else { unavailable = "cgroup v1 \(controller) controller not mounted"; break }
            let dir = "/sys/fs/cgroup/\(controller)\(path == "/" ? "" : path)/\(name)"
            guard mkdir(dir, 0o755) == 0 || errno == EEXIST else {
                unavailable = "cannot create \(dir): errno \(errno)"
                break
            }
            made.append(dir)
        }
        directories = made
        guard unavailable == nil else { remove(); return }
        let memory = directories[0], pids = directories[1]
        var ok = Self.write(memory + "/memory.limit_in_bytes", String(limits.memoryBytes))
            && Self.write(pids + "/pids.max", String(limits.pids))
        if let percent = limits.cpuPercent, directories.count > 2 {
            ok = ok && Self.write(directories[2] + "/cpu.cfs_period_us", "100000")
                && Self.write(directories[2] + "/cpu.cfs_quota_us", String(percent * 1000))
        }
        // Swap accounting, where enabled, must not let the app page its way past the limit.
        if Self.isReadable(memory + "/memory.memsw.limit_in_bytes") {
            _ = Self.write(memory + "/memory.memsw.limit_in_bytes", String(limits.memoryBytes))
        }
        if !ok { unavailable = "cannot write cgroup v1 limits under \(memory)"; remove() }
    }

    /// The leaf a v2 host moves itself into, so that its own cgroup may hand controllers to worker cgroups.
    static let hostLeaf = "syneroym-host"

    /// cgroup v2: the directory worker cgroups go under (the host's own cgroup, with memory, pids and cpu enabled
    /// for its children), prepared once per process; or why there is none.
    ///
    /// The kernel lets a cgroup enable controllers for its children only while it holds no processes itself. Under
    /// systemd with `Delegate=yes` the node is alone in its cgroup, so it first moves itself into a leaf
    /// (`syneroym-host`) and then enables the controllers. Call `prepare()` before any worker or template starts,
    /// since they would otherwise stay behind in the parent.
    static let v2Parent: (directory: String?, problem: String?) = {
        guard var path = ownCgroups()[""], isReadable("/sys/fs/cgroup/cgroup.controllers") else {
            return (nil, "cgroup v2 is not mounted")
        }
        if path.hasSuffix("/" + hostLeaf) { path = String(path.dropLast(hostLeaf.count + 1)) }
        let parent = "/sys/fs/cgroup" + (path == "/" ? "" : path)
        func enable() -> [String]? {
            let enabled = read(parent + "/cgroup.subtree_control") ?? ""
            let needed = ["memory", "pids", "cpu"].filter { !enabled.contains($0) }
            return needed.isEmpty || write(parent + "/cgroup.subtree_control", needed.map { "+" + $0 }.joined(separator: " ")) ? nil : needed
        }
        guard let needed = enable() else { return (parent, nil) }
        // Move this process out of the way, then try again; only when it is alone in its cgroup (a delegated
        // service), never in a login session's cgroup, which belongs to systemd and holds other processes.
        let members = (read(parent + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
        let leaf = parent + "/" + hostLeaf
        if members == [getpid()], mkdir(leaf, 0o755) == 0 || errno == EEXIST, write(leaf + "/cgroup.procs", String(getpid())),
           enable() == nil {
            return (parent, nil)
        }
        let offered = (read(parent + "/cgroup.controllers") ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        let missing = needed.filter { !offered.contains($0) }
        if !missing.isEmpty {
            return (nil, "cgroup v2: \(parent) is not offered the \(missing.joined(separator: ",")) controller(s) (its parent must "
                + "enable them; on a hybrid host they belong to cgroup v1)")
        }
        return (nil, "cgroup v2: cannot enable \(needed.joined(separator: ",")) for the children of \(parent): delegate a cgroup "
            + "to the node in which it runs alone (systemd: Delegate=yes, see deploy/syneroym.service)")
    }()

    /// Prepares the cgroups workers will use (see `v2Parent`); returns why workers will run without cgroup
    /// limits, or nil when they will have them.
    public static func prepare() -> String? {
        _ = sweepOnce
        return hostUsesV2 ? v2Parent.problem : nil
    }

    /// Whether workers get cgroup v2 groups: this process has a v2 cgroup and v2 is mounted at /sys/fs/cgroup (on a
    /// hybrid host, where v1 holds the controllers, v2 is mounted elsewhere or not at all).
    public static var hostUsesV2: Bool { ownCgroups()[""] != nil && isReadable("/sys/fs/cgroup/cgroup.controllers") }

    private func createV2(parent: String, name: String, limits: Limits) {
        let dir = parent + "/" + name
        guard mkdir(dir, 0o755) == 0 || errno == EEXIST else { unavailable = "cannot create \(dir): errno \(errno)"; return }
        directories = [dir]
        isV2 = true
        _ = Self.write(dir + "/memory.swap.max", "0") // absent when swap accounting is off
        let ok = Self.write(dir + "/memory.max", String(limits.memoryBytes))
            && Self.write(dir + "/pids.max", String(limits.pids))
            && Self.write(dir + "/cpu.max", limits.cpuPercent.map { "\($0 * 1000) 100000" } ?? "max 100000")
        if !ok { unavailable = "cannot write cgroup v2 limits under \(dir)"; remove() }
    }

    /// Removes, once per host process, worker cgroups left by hosts that died without cleaning up: their names
    /// carry the creating host's pid (`syneroym-<app>-<host pid>-<n>`), and that pid no longer exists.
    static let sweepOnce: Int = {
        let own = ownCgroups()
        var parents: [String] = []
        if own[""] != nil, isReadable("/sys/fs/cgroup/cgroup.controllers"), let parent = v2Parent.directory { parents.append(parent) }
        for controller in ["memory", "pids", "cpu"] {
            if let path = own[controller] { parents.append("/sys/fs/cgroup/\(controller)\(path == "/" ? "" : path)") }
        }
        var removed = 0
        for parent in parents {
            guard let dir = opendir(parent) else { continue }
            var stale: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard name.hasPrefix("syneroym-") else { continue }
                let parts = name.split(separator: "-")
                guard parts.count >= 3, let host = Int32(parts[parts.count - 2]), host != getpid() else { continue }
                if kill(host, 0) != 0 && errno == ESRCH { stale.append(parent + "/" + name) }
            }
            closedir(dir)
            for path in stale {
                let leftover = WorkerCgroup(adopting: path)
                leftover.remove()
                removed += 1
            }
        }
        return removed
    }()

    /// Wraps an existing directory (for the sweep).
    private init(adopting directory: String) {
        directories = [directory]
    }

    /// The host's own cgroup path per v1 controller ("" for v2), from /proc/self/cgroup.
    static func ownCgroups() -> [String: String] {
        var out: [String: String] = [:]
        for line in (read("/proc/self/cgroup") ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[1].isEmpty { out[""] = path; continue }
            for controller in parts[1].split(separator: ",") { out[String(controller)] = path }
        }
        return out
    }

    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 4096) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func write(_ path: String, _ text: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let n = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        return n == text.utf8.count
    }

    static func isReadable(_ path: String) -> Bool { access(path, R_OK) == 0 }
}
