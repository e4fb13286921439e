#if canImport(Glibc)
import Glibc
#endif

/// A cgroup shaped like a worker's (memory and pids controllers, same limits), for benchmarks that put a
/// baseline process under the same kernel accounting as a worker, so the comparison is like for like.
public final class MatchedCgroup: @unchecked Sendable {
    private let cgroup: WorkerCgroup

    public init(name: String, memoryBytes: UInt64, pids: Int) {
        cgroup = WorkerCgroup(name: "syneroym-\(name)-\(getpid())-0",
                              limits: .init(memoryBytes: memoryBytes, pids: pids, cpuPercent: nil))
    }

    /// Nil when the cgroup works, else why not.
    public var unavailable: String? { cgroup.unavailable }

    /// Moves `pid` into the cgroup.
    @discardableResult
    public func add(pid: Int32) -> Bool {
        cgroup.procsFiles.allSatisfy { WorkerCgroup.write($0, String(pid)) }
    }

    deinit { cgroup.remove() }
}
