import Foundation
import SynAppStore
#if canImport(Glibc)
import Glibc
#endif

/// Copies of a stopped app's database files (`app.db` and its `-wal`), taken before an upgrade and put back when
/// it fails or is rolled back. The files are copied as bytes: the host never opens an app's database (its
/// contents are the app's, and hostile). The app must be stopped, so the pair is consistent.
enum AppSnapshot {
    /// The file a snapshot of an app without a database holds instead of one.
    static let noDatabase = "no-database"

    /// `apps/<id>/snapshots`.
    static func root(data: String, app: String) -> String { InstalledApp.directory(data: data, app: app) + "/snapshots" }

    /// The bytes a snapshot of `app` would take now.
    static func size(data: String, app: String) -> Int64 {
        let directory = InstalledApp.directory(data: data, app: app)
        return AppStoreFiles.names.prefix(2).reduce(Int64(0)) { total, name in
            var st = stat()
            return total + (stat(directory + "/" + name, &st) == 0 ? Int64(st.st_size) : 0)
        }
    }

    /// Copies `app.db` and `app.db-wal` into `snapshots/<name>/` (each file fsynced) and returns `name`.
    static func take(data: String, app: String, name: String) throws(NodeError) -> String {
        let directory = InstalledApp.directory(data: data, app: app)
        let target = root(data: data, app: app) + "/" + name
        do {
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw NodeError(.io, "cannot create \(target): \(error.localizedDescription)")
        }
        guard FileManager.default.fileExists(atPath: directory + "/app.db") else {
            // An app without storage: the snapshot says so, and restoring it leaves everything as it is.
            guard FileManager.default.createFile(atPath: target + "/" + noDatabase, contents: nil) else {
                throw NodeError(.io, "cannot write \(target)/\(noDatabase)")
            }
            return name
        }
        for file in AppStoreFiles.names.prefix(2) where FileManager.default.fileExists(atPath: directory + "/" + file) {
            try copy(directory + "/" + file, to: target + "/" + file)
        }
        return name
    }

    /// Puts snapshot `name` back as the app's database: `app.db` and `-wal` as they were (no `-wal` in the
    /// snapshot empties it), and `-shm` emptied so that SQLite rebuilds its index from the files.
    static func restore(data: String, app: String, name: String) throws(NodeError) {
        let directory = InstalledApp.directory(data: data, app: app)
        let source = root(data: data, app: app) + "/" + name
        if FileManager.default.fileExists(atPath: source + "/" + noDatabase) { return }
        guard FileManager.default.fileExists(atPath: source + "/app.db") else {
            throw NodeError(.storage, "the snapshot \(source) has no app.db; the app's database was left as it is")
        }
        // Both files are staged beside the live ones first, so nothing live changes until both copies are whole.
        // Then the WAL and index go before the database comes in: SQLite must never find the snapshot's database
        // beside the newer WAL (it would replay frames that are not its own).
        let hasWAL = FileManager.default.fileExists(atPath: source + "/app.db-wal")
        try copy(source + "/app.db", to: directory + "/app.db.restoring")
        if hasWAL { try copy(source + "/app.db-wal", to: directory + "/app.db-wal.restoring") }
        guard truncate(directory + "/app.db-wal", 0) == 0 || errno == ENOENT, truncate(directory + "/app.db-shm", 0) == 0 || errno == ENOENT else {
            throw NodeError(.io, "cannot empty \(directory)/app.db-wal or -shm: errno \(errno); the database was left as it is")
        }
        guard rename(directory + "/app.db.restoring", directory + "/app.db") == 0 else {
            throw NodeError(.io, "cannot put \(directory)/app.db back: errno \(errno); the snapshot is still in \(source)")
        }
        if hasWAL && rename(directory + "/app.db-wal.restoring", directory + "/app.db-wal") != 0 {
            throw NodeError(.io, "cannot put \(directory)/app.db-wal back: errno \(errno); the snapshot is still in \(source)")
        }
    }

    /// Keeps the newest `keep` snapshots whose names start with `prefix` (by when they were taken); removes the rest.
    static func prune(data: String, app: String, prefix: String, keep: Int) {
        let directory = root(data: data, app: app)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(prefix) }
        let dated = names.map { name -> (String, Date) in
            let date = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name))?[.modificationDate] as? Date
            return (name, date ?? .distantPast)
        }.sorted { $0.1 > $1.1 }
        for (name, _) in dated.dropFirst(keep) { remove(data: data, app: app, name: name) }
    }

    /// Removes snapshot `name`.
    static func remove(data: String, app: String, name: String) {
        try? FileManager.default.removeItem(atPath: root(data: data, app: app) + "/" + name)
    }

    /// Copies `source` over `target` through a temporary file, fsynced, then renamed into place.
    static func copy(_ source: String, to target: String) throws(NodeError) {
        let temporary = target + ".tmp-copy"
        unlink(temporary)
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw NodeError(.io, "cannot open \(source): errno \(errno)") }
        defer { close(input) }
        let output = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw NodeError(.io, "cannot create \(temporary): errno \(errno)") }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var failed: String?
        while failed == nil {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { failed = "cannot read \(source): errno \(errno)"; break }
            if n == 0 { break }
            var done = 0
            while done < n {
                let w = buffer.withUnsafeBytes { write(output, $0.baseAddress! + done, n - done) }
                if w < 0 && errno == EINTR { continue }
                if w <= 0 { failed = "cannot write \(temporary): errno \(errno) (is the disk full?)"; break }
                done += w
            }
        }
        if failed == nil && fsync(output) != 0 { failed = "cannot fsync \(temporary): errno \(errno)" }
        close(output)
        if let failed {
            unlink(temporary)
            throw NodeError(.io, failed)
        }
        guard rename(temporary, target) == 0 else {
            unlink(temporary)
            throw NodeError(.io, "cannot replace \(target): errno \(errno)")
        }
    }
}
