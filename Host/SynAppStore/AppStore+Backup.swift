import SynSQLite
import SynWire

/// The app's database copied by SQLite's online backup into `app.db-backup` (a file the host made and passed with
/// the others), in steps the host sends between calls: the app keeps serving, and what its calls commit meanwhile is
/// copied into the backup by this same connection. The host reads the finished file; it never opens the app's
/// database itself.
extension AppStore {
    /// What one step did.
    public struct BackupProgress: Sendable, Equatable {
        public let done: Bool
        public let remaining: Int
        public let pageCount: Int
    }

    /// Ends a backup under way, if any, without finishing its copy: the host gave up on it.
    public func abortBackup() {
        guard let backup = backupInProgress else { return }
        backupInProgress = nil
        try? backup.finish()
        backup.destination.close()
    }

    /// The backup's file, next to the database.
    public static let backupSuffix = "-backup"

    /// Copies up to `pages` pages (all of them for 0), starting a backup if none is under way. When the last page is
    /// copied the backup is finished and its file synced and closed, and the next step starts a new one.
    public func backupStep(pages: Int, restart: Bool = false) -> Result<BackupProgress, StoreFailure> {
        precondition(!began, "a backup step runs between calls")
        // A new backup never continues an old one the host gave up on (its file was emptied since).
        if restart { abortBackup() }
        do throws(SQLiteError) {
            let backup: DatabaseBackup
            if let current = backupInProgress {
                backup = current
            } else {
                var options = Database.Options()
                options.create = false
                options.exclusive = true
                options.noJournal = true
                options.lookaside = false
                options.singleThread = true
                let destination = try Database(path: database.path + Self.backupSuffix, options: options)
                // A copy the host reads at once and then encrypts into a synced archive: no fsync per step.
                try destination.execute("PRAGMA synchronous=OFF")
                backup = try DatabaseBackup(from: database, to: destination)
                backupInProgress = backup
            }
            let done = try backup.step(pages: pages <= 0 ? -1 : Int32(clamping: pages))
            let progress = BackupProgress(done: done, remaining: backup.remaining, pageCount: backup.pageCount)
            if done {
                backupInProgress = nil
                try backup.finish()
                backup.destination.close()
            }
            return .success(progress)
        } catch {
            if let backup = backupInProgress {
                backupInProgress = nil
                try? backup.finish()
                backup.destination.close()
            }
            return .failure(StoreFailure(SynStatus.io, "the backup of the app's database failed: \(error.message) (SQLite code \(error.extendedCode))"))
        }
    }
}
