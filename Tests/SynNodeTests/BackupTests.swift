import Foundation
import SynBackup
import SynSodium
import SynSQLite
import SynTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `syneroym backup` on a node that serves, and `syneroym restore`: what the archive holds, and what it refuses.
@Suite struct BackupTests {
    @Test func aBackupTakenWhile32ClientsWriteRestoresEveryAcknowledgedWrite() throws {
        let home = try PackageInstallTests.Home()
        let keyFile = home.root + "/backup.key"
        #expect(try home.run(["backup", "--make-key", keyFile]).status == 0)
        let toml = try String(contentsOfFile: home.data + "/node.toml", encoding: .utf8)
        try (toml + "\n[backup]\nkey_file = \"\(keyFile)\"\n").write(toFile: home.data + "/node.toml", atomically: true, encoding: .utf8)
        let node = try home.start()
        defer { node.stop() }
        let installed = try home.install(try home.pack("1.0.0", tag: "backup"), ["--grant-requested"])
        #expect(installed.status == 0, "\(installed.stderr)")

        // 32 clients write notes; each remembers which were acknowledged and when.
        let acknowledged = Mutex<[(note: String, at: Int64)]>([])
        let stop = Atomic<Bool>(false)
        let started = Atomic<Int>(0)
        let writers = (0..<32).map { w in
            Thread {
                var n = 0
                started.add(1, ordering: .relaxed)
                while !stop.load(ordering: .relaxed) {
                    let note = "w\(w)-\(n)"
                    if let answer = try? node.call("notes", "put", "\"\(note)\""), answer.status == 200 {
                        let at = Int64(Date().timeIntervalSince1970 * 1_000_000)
                        acknowledged.withLock { $0.append((note, at)) }
                    }
                    n += 1
                }
            }
        }
        for w in writers { w.start() }
        while started.load(ordering: .relaxed) < 32 || acknowledged.withLock({ $0.count }) < 500 { usleep(10_000) }
        // The snapshot point is when the node begins the backup, after this moment.
        let before = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let backup = try home.run(["backup", "--data", home.data])
        stop.store(true, ordering: .relaxed)
        while writers.contains(where: \.isExecuting) { usleep(10_000) }
        #expect(backup.status == 0, "\(backup.stderr)")
        let archive = try #require(backup.stdout.split(separator: " ").dropFirst().first.map(String.init))
        #expect(archive.hasSuffix(".synbak") && FileManager.default.fileExists(atPath: archive), "\(backup.stdout)")
        let mustHave = Set(acknowledged.withLock { $0.filter { $0.at < before }.map(\.note) })
        #expect(mustHave.count >= 500)
        #expect(try home.audit().contains("\tbackup\tok\t"))

        // Restored elsewhere: every write acknowledged before the snapshot point is there, and the node is sound.
        let restored = home.root + "/restored"
        let restore = try home.run(["restore", archive, "--data", restored, "--key-file", keyFile])
        #expect(restore.status == 0, "\(restore.stderr)")
        var options = Database.Options()
        options.readOnly = true
        let db = try Database(path: restored + "/apps/notes/app.db", options: options)
        #expect(try db.query("PRAGMA integrity_check").first?.first == .text("ok"))
        let notes = Set(try db.query("SELECT body FROM notes").compactMap { row -> String? in
            if case .text(let text)? = row.first { return text }
            return nil
        })
        db.close()
        let missing = mustHave.subtracting(notes)
        #expect(missing.isEmpty, "\(missing.count) acknowledged writes are missing, e.g. \(missing.prefix(5))")
        let verified = try home.run(["audit", "verify", "--data", restored])
        #expect(verified.status == 0 && verified.stdout.hasPrefix("ok: "), "\(verified.stdout) \(verified.stderr)")
        #expect(FileManager.default.fileExists(atPath: restored + "/node.key") && FileManager.default.fileExists(atPath: restored + "/apps/notes/app.key"))

        // A wrong key, a passphrase for a key file, a flipped byte and a cut archive are refused, changing nothing.
        let wrong = home.root + "/wrong.key"
        #expect(try home.run(["backup", "--make-key", wrong]).status == 0)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: archive)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: home.root + "/flipped.synbak"))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes.prefix(bytes.count - 100)).write(to: URL(fileURLWithPath: home.root + "/cut.synbak"))
        for (file, key, reason) in [(archive, wrong, "the key does not open"),
                                    (home.root + "/flipped.synbak", keyFile, "does not authenticate; the archive was altered or damaged"),
                                    (home.root + "/cut.synbak", keyFile, "truncated")] {
            let refused = try home.run(["restore", file, "--data", home.root + "/never", "--key-file", key])
            #expect(refused.status == 1 && refused.stderr.contains(reason) && refused.stderr.contains("nothing was changed"), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: home.root + "/never"))
        }
        // A restore over a node is refused without --force, and never while a node runs there.
        #expect(try home.run(["restore", archive, "--data", restored, "--key-file", keyFile]).stderr.contains("pass --force"))
        #expect(try home.run(["restore", archive, "--data", home.data, "--key-file", keyFile, "--force"]).stderr.contains("stop it first"))
    }

    @Test func aMissedScheduledBackupShowsInHealthMetricsAndDoctor() throws {
        let home = try PackageInstallTests.Home()
        let keyFile = home.root + "/backup.key"
        #expect(try home.run(["backup", "--make-key", keyFile]).status == 0)
        // A key readable by others is refused, so the scheduled backup fails.
        chmod(keyFile, 0o644)
        let toml = try String(contentsOfFile: home.data + "/node.toml", encoding: .utf8)
        try (toml + "\n[backup]\nkey_file = \"\(keyFile)\"\nevery_hours = 24\n").write(toFile: home.data + "/node.toml", atomically: true, encoding: .utf8)
        let node = try home.start()
        defer { node.stop() }
        #expect(node.waitFor("scheduled backup failed", seconds: 30))
        let health = try node.request("GET", "/v1/health")
        #expect(health.status == 200 && health.body.contains(#""status":"degraded""#) && health.body.contains("scheduled backups are late"), "\(health.body)")
        #expect(!health.body.contains(keyFile))
        #expect(try node.request("GET", "/metrics").body.contains("syneroym_backup_overdue 1"))
        let doctor = try home.run(["doctor", "--data", home.data, "--manifests", home.manifests, "--profiles", TestSupport.root + "/sandbox-profiles"])
        #expect(doctor.stdout.contains("FAIL") && doctor.stdout.contains("backups") && doctor.stdout.contains("no backup has succeeded yet")
                && doctor.stdout.contains("chmod 600"), "\(doctor.stdout)")
        // Fixed, a backup by hand clears it.
        chmod(keyFile, 0o600)
        #expect(try home.run(["backup", "--data", home.data]).status == 0)
        #expect(try node.request("GET", "/v1/health").body.contains(#""status":"ok""#))
        #expect(try node.request("GET", "/metrics").body.contains("syneroym_backup_overdue 0"))
    }

    /// An app can write what it likes into the copy of its own database: a damaged copy keeps nothing else from
    /// coming back, and is refused until the owner says to go on without it.
    @Test func aDamagedAppCopyIsRefusedThenSkippedWithoutHarmingTheRest() throws {
        let home = try PackageInstallTests.Home()
        let keyFile = home.root + "/backup.key"
        #expect(try home.run(["backup", "--make-key", keyFile]).status == 0)
        #expect(try home.install(try home.pack("1.0.0", tag: "damaged"), ["--grant-requested", "--manifests", home.manifests,
                                                                             "--profiles", TestSupport.root + "/sandbox-profiles"]).status == 0)
        let made = try home.run(["backup", "--data", home.data, "--key-file", keyFile, "--to", home.root + "/out",
                                 "--manifests", home.manifests, "--profiles", TestSupport.root + "/sandbox-profiles"])
        #expect(made.status == 0, "\(made.stderr)")
        let archive = try #require(made.stdout.split(separator: " ").dropFirst().first.map(String.init))
        // What a hostile app could leave in its copy: garbage over its database's pages, in an archive whose
        // encryption and hashes are all in order.
        let key = try BackupKey.load(path: keyFile)
        let contents = try ArchiveReader.read(path: archive, key: key, into: home.root + "/open")
        let db = home.root + "/open/apps/notes/app.db"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: db)))
        for i in 100..<min(bytes.count, 9000) { bytes[i] = 0xA5 }
        try Data(bytes).write(to: URL(fileURLWithPath: db))
        let forged = home.root + "/forged.synbak"
        let writer = try ArchiveWriter(path: forged, key: key, info: contents.info)
        for file in contents.files { try writer.add(home.root + "/open/" + file.path, as: file.path) }
        _ = try writer.finish()

        let target = home.root + "/restored"
        let refused = try home.run(["restore", forged, "--data", target, "--key-file", keyFile])
        #expect(refused.status == 1 && refused.stderr.contains("apps/notes/app.db") && refused.stderr.contains("--skip-damaged"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target))
        let skipped = try home.run(["restore", forged, "--data", target, "--key-file", keyFile, "--skip-damaged"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(FileManager.default.fileExists(atPath: target + "/apps/notes/app.db.damaged"))
        #expect(!FileManager.default.fileExists(atPath: target + "/apps/notes/app.db"))
        #expect(try home.run(["audit", "verify", "--data", target]).status == 0)
        // The restored node starts, with the damaged app on an empty database.
        let node = try ProcessNode.launch(["run", "--manifests", home.manifests, "--profiles", TestSupport.root + "/sandbox-profiles",
                                           "--data", target, "--listen", "127.0.0.1:0"], data: target, apps: ["hello", "notes"],
                                          environment: home.environment)
        defer { node.stop() }
        #expect(try node.call("notes", "count", "").body == "0")
        #expect(try node.call("hello", "echo", "{}").status == 200)
    }

    /// A backup whose archive cannot be written (its disk fills, here a 64 KiB tmpfs in a mount namespace of its
    /// own) fails, names the cause, and leaves no archive: it never counts as a backup with an app left out.
    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root")) func aBackupWhoseDiskFillsFailsAndLeavesNoArchive() throws {
        let home = try PackageInstallTests.Home()
        let keyFile = home.root + "/backup.key"
        #expect(try home.run(["backup", "--make-key", keyFile]).status == 0)
        #expect(try home.install(try home.pack("1.0.0", tag: "full"), ["--grant-requested", "--manifests", home.manifests,
                                                                          "--profiles", TestSupport.root + "/sandbox-profiles"]).status == 0)
        let out = home.root + "/small"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let child = try ChildProcess("/usr/bin/unshare", [
            "--mount", "--propagation", "private", "/bin/sh", "-c", #"mount -t tmpfs -o size=64k none "$1" && shift && exec "$@""#, "sh", out,
            TestSupport.products + "/syneroym", "backup", "--data", home.data, "--key-file", keyFile, "--to", out,
            "--manifests", home.manifests, "--profiles", TestSupport.root + "/sandbox-profiles",
        ], environment: ProcessInfo.processInfo.environment.merging(home.environment) { $1 }, directory: TestSupport.root)
        let errors = child.readErrors()
        let status = child.wait()
        #expect(status == 1 && errors.contains("disk full"), "\(status): \(errors)")
        #expect(!errors.contains("left out"), "\(errors)")
        // The tmpfs went with its namespace; nothing was written to the directory under it, nor elsewhere.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
        let audit = try home.run(["audit", "show", "--data", home.data, "--limit", "5"])
        #expect(audit.stdout.contains("backup") && audit.stdout.contains("failed"), "\(audit.stdout)")
    }
}
