import Logging
import SynBroker
import SynSystem

/// What the node does on a clock, on one thread of its own: the disk reserve every second, the audit head every
/// two, the statistics file every five, the event log's retention every hour.
extension NodeRuntime {
    /// How often new audit entries get a signed head, seconds.
    static let auditHeadIntervalS: Int64 = 2
    static let statsIntervalS: Int64 = 5
    static let retentionIntervalS: Int64 = 3600

    func startHousekeeping() {
        checkDisk()
        writeStats()
        let started = OSThread.start(name: "syn-housekeeping") { [self] in
            var tick: Int64 = 0
            while !housekeepingStopped.wait(untilMonotonicNs: MonotonicClock.nowNs() + 1_000_000_000, for: { $0 }) {
                tick += 1
                // Free space: below the reserve, app calls wait (audit and owner actions use the reserve).
                checkDisk()
                // The audit log's head is signed at least this often while entries arrive (a no-op when none did).
                if tick % Self.auditHeadIntervalS == 0 { broker.audit.checkpoint() }
                if tick % Self.statsIntervalS == 0 { writeStats() }
                if tick % Self.retentionIntervalS == 1 { applyRetention() }
            }
        }
        if !started {
            logger.critical("no thread for housekeeping: the disk reserve, audit heads and statistics are kept only at stop")
        }
    }

    func stopHousekeeping() { housekeepingStopped.update { $0 = true } }
}
