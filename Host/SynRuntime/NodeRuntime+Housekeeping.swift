import Logging
import SynBroker
import SynSystem

/// What the node does on a clock, on one thread of its own: the disk reserve every second, the audit head every
/// two, the statistics file every five, scheduled backups checked every minute, the event log's retention every hour.
extension NodeRuntime {
    /// How often new audit entries get a signed head, seconds.
    static let auditHeadIntervalS: Int64 = 2
    static let statsIntervalS: Int64 = 5
    static let retentionIntervalS: Int64 = 3600

    /// The housekeeping thread's state: asked to stop, and ended.
    struct Housekeeping {
        var stopping = false
        var running = false
    }

    func startHousekeeping() {
        checkDisk()
        writeStats()
        housekeeping.withLock { $0.running = true }
        let housekeeping = self.housekeeping
        // The thread holds the runtime weakly: a runtime dropped without `shutdown` is freed, and the thread ends.
        let started = OSThread.start(name: "syn-housekeeping") { [weak self] in
            var tick: Int64 = 0
            while !housekeeping.wait(untilMonotonicNs: MonotonicClock.nowNs() + 1_000_000_000, for: { $0.stopping }) {
                guard let self else { break }
                tick += 1
                // Free space: below the reserve, app calls wait (audit and owner actions use the reserve).
                checkDisk()
                // The audit log's head is signed at least this often while entries arrive (a no-op when none did).
                if tick % Self.auditHeadIntervalS == 0 { broker.audit.checkpoint() }
                if tick % Self.statsIntervalS == 0 { writeStats() }
                if tick % Self.retentionIntervalS == 1 { applyRetention() }
                if tick % 60 == 3 { backupIfDue() }
            }
            housekeeping.update { $0.running = false }
        }
        if !started {
            housekeeping.update { $0.running = false }
            logger.critical("no thread for housekeeping: the disk reserve, audit heads and statistics are kept only at stop")
        }
    }

    /// Stops the housekeeping thread and waits (at most 30 s, for an hourly retention under way) until it has
    /// ended, so that nothing it does runs after the databases close.
    func stopHousekeeping() {
        housekeeping.update { $0.stopping = true }
        housekeeping.wait(untilMonotonicNs: MonotonicClock.nowNs() + 30_000_000_000) { !$0.running }
    }
}
