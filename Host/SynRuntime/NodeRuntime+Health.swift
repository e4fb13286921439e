import Logging
import SynBroker
import SynConfig
import SynSandbox
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension NodeRuntime {
    /// Why app calls are refused for lack of disk space, or nil.
    public var diskRefusal: String? { state.withLock { $0.lowDisk } }

    /// Measures the data directory's free space against node.toml `node.reserve_mb`; a change is logged and audited.
    func checkDisk() {
        let reserveMB = config.reserveMB
        var fs = statvfs()
        guard reserveMB > 0, statvfs(layout.data, &fs) == 0 else { return }
        let freeMB = (UInt64(fs.f_bavail) * UInt64(fs.f_frsize)) >> 20
        let refusal = freeMB < UInt64(reserveMB)
            ? "the node's disk has \(freeMB) MB free under \(layout.data), below its reserve (node.toml node.reserve_mb = \(reserveMB)); "
                + "app calls are refused until its owner frees space (audit and owner actions go on)"
            : nil
        let previous: String? = state.withLock { s in
            defer { s.lowDisk = refusal }
            return s.lowDisk
        }
        guard (previous == nil) != (refusal == nil) else { return }
        if let refusal {
            logger.error("disk below the reserve: refusing app calls", metadata: ["free_mb": "\(freeMB)", "reserve_mb": "\(reserveMB)"])
            broker.audit.append(actor: "node", app: "", action: "node.disk", decision: "low", cause: refusal)
        } else {
            logger.notice("disk above the reserve again: serving app calls", metadata: ["free_mb": "\(freeMB)"])
            broker.audit.append(actor: "node", app: "", action: "node.disk", decision: "ok", cause: "\(freeMB) MB free, reserve \(reserveMB) MB")
        }
    }

    /// Why work that must be audited is refused now (the audit log cannot be written), or nil. A failing log is
    /// retried at most once a second.
    public func auditRefusal() -> String? {
        guard !broker.audit.retryIfFailing(), let failure = broker.audit.failure else { return nil }
        return "the node cannot write its audit log (\(failure.reason)), so it refuses what the log would record; "
            + "free space on the data directory's file system, check it with `syneroym doctor`"
    }
}
