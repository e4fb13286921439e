import Foundation
import Logging
public import SynConfig
import SynSystem
import Synchronization

/// Backups on a schedule (`[backup] every_hours`), started by the housekeeping thread on a thread of their own,
/// and the record that shows a missed one.
extension NodeRuntime {
    /// Why backups are late, or nil (see `BackupRecord.overdue`).
    public var backupOverdue: String? {
        let settings = config.backup
        return state.withLock { $0.backupRecord }.overdue(everyHours: settings.everyHours, alertHours: settings.alertHours,
                                                          now: Int64(Date().timeIntervalSince1970))
    }

    /// Unix seconds of the last successful backup, if any.
    public var lastBackup: Int64? { state.withLock { $0.backupRecord.lastOK } }

    /// The last backup's success and failure, as `backup.json` keeps them.
    public var backupRecord: BackupRecord { state.withLock { $0.backupRecord } }

    /// `[backup]` as node.toml says it now (read again, as each backup does).
    public var backupSettings: BackupSettings { (try? NodeConfig.load(path: layout.nodeToml))?.backup ?? config.backup }

    func recordBackup(ok path: String?, error: String?) {
        let now = Int64(Date().timeIntervalSince1970)
        let record: BackupRecord = state.withLock { s in
            s.backupRecord.lastAttempt = now
            if let path {
                s.backupRecord.lastOK = now
                s.backupRecord.lastFile = path
                s.backupRecord.lastError = nil
            } else {
                s.backupRecord.lastError = error
            }
            return s.backupRecord
        }
        record.save(data: layout.data)
    }

    /// Called by the housekeeping thread once a minute: starts a backup when one is due and none is running.
    func backupIfDue() {
        let settings = config.backup
        guard settings.everyHours > 0 else { return }
        let record = state.withLock { $0.backupRecord }
        let now = Int64(Date().timeIntervalSince1970)
        let last = max(record.lastOK ?? 0, record.lastAttempt ?? 0)
        // A failed attempt is tried again after an hour, not a whole period.
        let wait = record.lastError != nil && record.lastOK ?? 0 < record.lastAttempt ?? 0 ? min(3600, Int64(settings.everyHours) * 3600)
            : Int64(settings.everyHours) * 3600
        guard now - last >= wait else { return }
        let claimed = state.withLock { s in
            defer { s.backupRunning = true }
            return !s.backupRunning
        }
        guard claimed else { return }
        let started = OSThread.start(name: "syn-backup") { [weak self] in
            guard let self else { return }
            defer { state.withLock { $0.backupRunning = false } }
            do throws(NodeError) {
                let done = try backup(actor: "node")
                logger.notice("scheduled backup written", metadata: ["path": "\(done.path)", "bytes": "\(done.bytes)",
                                                                     "seconds": "\(String(format: "%.1f", done.seconds))"])
            } catch {
                logger.error("scheduled backup failed", metadata: ["error": "\(error.message)"])
            }
        }
        if !started { state.withLock { $0.backupRunning = false } }
    }
}
