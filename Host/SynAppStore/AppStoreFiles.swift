import SynSystem
import SynSQLite
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// An app's database files as the host keeps them in `apps/<id>/`: `app.db`, `app.db-wal` and `app.db-shm`.
///
/// The host creates them and hands them to each of the app's workers as open descriptors; it never runs SQL on a
/// database an app has written. A missing `app.db` is made fresh (WAL mode, the store's tables) by the host's own
/// trusted SQL; missing `-wal` and `-shm` files are created empty.
public enum AppStoreFiles {
    /// The files, in the order `openAll` returns their descriptors: the database, its WAL and index, and the file a
    /// backup of it is written to (`AppStore.backupStep`).
    public static let names = ["app.db", "app.db-wal", "app.db-shm", "app.db-backup"]

    /// The store's own tables, created by the host in a fresh database and checked by every worker: the KV
    /// table, the outbox of events, timers and messages to peers, the outbox's epoch (a random identity, so sequence
    /// numbers of a replaced database are never mistaken for old ones), and the last message applied from each peer
    /// node (`net_send`'s exactly-once: recorded in the transaction of the app's `on_event`).
    static let schema = """
        CREATE TABLE IF NOT EXISTS syn_kv (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL,
                                           version INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS syn_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER NOT NULL,
            kind INTEGER NOT NULL, type BLOB NOT NULL, payload BLOB NOT NULL, token INTEGER NOT NULL,
            due_ns INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS syn_meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
        INSERT OR IGNORE INTO syn_meta(key, value) VALUES ('outbox_epoch', randomblob(16));
        CREATE TABLE IF NOT EXISTS syn_net_applied (peer TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
        """

    /// Creates whatever of the four files is missing in `directory`.
    public static func prepare(directory: String) throws(StoreFailure) {
        let path = directory + "/app.db"
        var st = stat()
        if lstat(path, &st) != 0 {
            guard errno == ENOENT else { throw io("cannot inspect \(path)", errno) }
            try create(path)
        } else if st.st_mode & S_IFMT != S_IFREG {
            throw StoreFailure(SynStatus.io, "\(path) is not a regular file; move it away so the node can make a fresh database")
        }
        for suffix in ["-wal", "-shm", "-backup"] {
            let fd = open(path + suffix, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { throw io("cannot create \(path + suffix)", errno) }
            close(fd)
        }
    }

    /// Opens the four files read-write (never following a link); the caller owns and closes the descriptors.
    public static func openAll(directory: String) throws(StoreFailure) -> [Int32] {
        var fds: [Int32] = []
        for name in names {
            let path = directory + "/" + name
            let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
            var st = stat()
            guard fd >= 0, fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
                let code = errno
                if fd >= 0 { close(fd) }
                for f in fds { close(f) }
                throw io("cannot open \(path) for the app's worker", code)
            }
            fds.append(fd)
        }
        return fds
    }

    /// A fresh database, built under a temporary name and renamed into place.
    private static func create(_ path: String) throws(StoreFailure) {
        let temporary = path + ".new"
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(temporary + suffix) }
        do {
            let db = try Database(path: temporary)
            try db.execute(schema)
            db.close()
        } catch {
            throw StoreFailure(SynStatus.io, "cannot create \(path): \(error.message)")
        }
        for suffix in ["-wal", "-shm"] { unlink(temporary + suffix) }
        guard rename(temporary, path) == 0 else { throw io("cannot rename \(temporary) to \(path)", errno) }
    }

    private static func io(_ what: String, _ code: Int32) -> StoreFailure {
        StoreFailure(SynStatus.io, "\(what): \(Errno.describe(code))")
    }
}
