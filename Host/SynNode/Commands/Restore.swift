import ArgumentParser
import Foundation
import SynBackup
import SynBroker
import SynConfig
import SynPackage
import SynSodium
import SynSQLite
#if canImport(Glibc)
import Glibc
#endif

/// `syneroym restore ARCHIVE --data DIR`: puts a backup archive back as a node's data directory, checking all of it
/// first: the key, every record and hash, every database's integrity, the audit log against its signed head, the
/// node key and the installed packages. Only then is DIR replaced (the old one is kept beside it).
struct Restore: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a node's data directory from an encrypted backup archive.",
        discussion: "The node on --data must be stopped. The archive is read and checked completely in a directory beside --data before anything is replaced; with --force an existing data directory is moved aside to <data>.replaced-<time>, never deleted. Exit 1 when the archive does not check out.")
    @OptionGroup var options: DataOption
    @Option(help: "The key file the archive was made with (32 bytes, or a passphrase); default: node.toml [backup] key_file in --data.") var keyFile: String?
    @Flag(help: "Read the passphrase from the first line of standard input instead of a key file.") var passphraseStdin = false
    @Flag(help: "Replace an existing data directory (it is moved aside, not deleted).") var force = false
    @Flag(help: "Restore even when some apps' databases in the archive are damaged: those apps start empty, and their damaged copies are kept as apps/<id>/app.db.damaged.") var skipDamaged = false
    @Argument(help: "The archive (.synbak).") var archive: String

    func execute() throws(CLIError) {
        let data = URL(fileURLWithPath: options.data).standardizedFileURL.path
        if let holder = DataDirectoryLock.holder(directory: data) {
            throw CLIError("error: a node (PID \(holder.pid.map(String.init) ?? "?")) runs on \(data); stop it first")
        }
        let key = try loadKey(data)
        let exists = ((try? FileManager.default.contentsOfDirectory(atPath: data)) ?? []).contains { $0 != "node.lock" }
        // Held until the restored directory is in place, so no node starts on the old one meanwhile.
        var lock: DataDirectoryLock?
        if FileManager.default.fileExists(atPath: data) {
            do { lock = try DataDirectoryLock(directory: data) } catch { throw CLIError("error: \(error.message); stop that node first") }
        }
        defer { lock?.release() }
        if exists && !force {
            throw CLIError("error: \(data) holds a node already; pass --force to move it aside to \(data).replaced-<time> and restore in its place")
        }
        let staging = data + ".restoring-\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        let bar = ProgressBar()
        let contents: ArchiveReader.Contents
        do {
            contents = try ArchiveReader.read(path: archive, key: key, into: staging) { done, total in bar.show("read", done, total) }
        } catch {
            bar.clear()
            throw CLIError("error: \(error.message); nothing was changed", code: 1)
        }
        bar.clear()
        do { try check(staging, contents) } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw CLIError("error: \(error.message); nothing was changed", code: 1)
        }
        var aside: String?
        if FileManager.default.fileExists(atPath: data) {
            let moved = data + ".replaced-" + String(Int(Date().timeIntervalSince1970))
            guard rename(data, moved) == 0 else {
                try? FileManager.default.removeItem(atPath: staging)
                throw CLIError("error: cannot move \(data) aside to \(moved): errno \(errno); nothing was changed", code: 1)
            }
            aside = moved
        }
        guard rename(staging, data) == 0 else {
            if let aside { rename(aside, data) }
            throw CLIError("error: cannot move the restored node into \(data): errno \(errno); nothing was changed", code: 1)
        }
        chmod(data, 0o700)
        print("restored \(contents.files.count) files of node \(contents.info.node) (snapshot at \(contents.info.snapshot)) into \(data)")
        if let aside { print("the node that was there is kept in \(aside)") }
        print("check it with `syneroym audit verify --data \(data)`, then start it with `syneroym run --data \(data)`")
    }

    private func loadKey(_ data: String) throws(CLIError) -> BackupKey {
        if passphraseStdin {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw CLIError("error: no passphrase on standard input") }
            return .passphrase(Array(line.utf8))
        }
        var path = keyFile
        if path == nil, let node = try? NodeConfig.load(path: data + "/node.toml") { path = node.backup.keyFile }
        guard let path else {
            throw CLIError("error: name the archive's key with --key-file FILE (or --passphrase-stdin)")
        }
        do { return try BackupKey.load(path: path) } catch { throw CLIError("error: \(error.message)") }
    }

    /// Everything in the staged directory must be sound before it replaces anything.
    private func check(_ staged: String, _ contents: ArchiveReader.Contents) throws(BackupError) {
        let key: SigningKey
        do { key = try KeyFile.load(path: staged + "/node.key") } catch { throw BackupError(.damaged, "the archive's node.key: \(error.message)") }
        guard Base64URL.encode(key.publicKey) == contents.info.node else {
            throw BackupError(.damaged, "the archive's node.key is not the key of node \(contents.info.node) it says it holds")
        }
        do { _ = try NodeConfig.load(path: staged + "/node.toml") } catch { throw BackupError(.damaged, "the archive's node.toml does not load: \(error)") }
        if let problem = Self.integrity(staged + "/node.db") { throw BackupError(.damaged, "node.db: \(problem)") }
        // An app's database is its own: a damaged one (an app can write garbage into the copy of its own database)
        // must not keep the node and the other apps from coming back.
        var damaged: [String] = []
        for file in contents.files where file.path.hasPrefix("apps/") && file.path.hasSuffix("/app.db") {
            if let problem = Self.integrity(staged + "/" + file.path) { damaged.append("\(file.path) (\(problem.prefix(200)))") }
        }
        if !damaged.isEmpty {
            guard skipDamaged else {
                throw BackupError(.damaged, "the archive holds damaged app databases: \(damaged.joined(separator: "; ")); pass --skip-damaged to restore everything else (those apps start with empty databases, and the damaged copies are kept as apps/<id>/app.db.damaged)")
            }
            for file in contents.files where file.path.hasSuffix("/app.db") && damaged.contains(where: { $0.hasPrefix(file.path + " ") }) {
                rename(staged + "/" + file.path, staged + "/" + file.path + ".damaged")
                unlink(staged + "/" + file.path + "-wal")
                FileHandle.standardError.write(Data("warning: \(file.path) is damaged; kept as \(file.path).damaged, and the app starts with an empty database\n".utf8))
            }
        }
        let report: AuditVerifier.Report
        do {
            report = try AuditVerifier.verify(path: staged + "/node.db", nodePublicKey: key.publicKey, headPath: staged + "/audit.head")
        } catch { throw BackupError(.damaged, "the archive's audit log: \(error.message)") }
        if let broken = report.firstBroken { throw BackupError(.damaged, "the archive's audit log is broken at entry \(broken.seq): \(broken.reason)") }
        for file in contents.files where file.path.hasSuffix(".synapp") {
            do { _ = try PackageReader.verify(path: staged + "/" + file.path) } catch { throw BackupError(.damaged, "\(file.path): \(error.message)") }
        }
    }

    /// `PRAGMA integrity_check` of a database from the archive, opened as an untrusted file; nil when it is ok.
    static func integrity(_ path: String) -> String? {
        do throws(SQLiteError) { return try UntrustedDatabase.check(path, "integrity_check", limitMs: 600_000) } catch {
            return error.message
        }
    }
}
