import ArgumentParser
import Foundation
import SynBackup
import SynHTTPSig
import SynRuntime
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `syneroym backup`: an encrypted archive of the whole node (every app's database, node.db, keys, node.toml,
/// installed packages), made while it serves. On a running node it is written by the node, on its machine, under
/// node.toml `[backup] key_file`; on a stopped one, by this command.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an encrypted backup of the node while it runs (owner).",
        discussion: "The archive is encrypted with libsodium's secretstream under the key in node.toml [backup] key_file (32 random bytes, or a passphrase stretched with Argon2id). Keep a copy of the key off the node's machine: without it the archive cannot be read. `syneroym restore` puts an archive back.")
    @OptionGroup var client: ClientOptions
    @Option(help: "Where to write the archive (default: node.toml [backup] directory, else <data>/backups). On a running node, a directory on its machine.") var to: String?
    @Option(help: "On a stopped node: the key file (default: node.toml [backup] key_file).") var keyFile: String?
    @Option(help: "Make a new key file of 32 random bytes (mode 0600) at this path, and do nothing else.") var makeKey: String?
    @Option(help: "On a stopped node: its manifests directory.") var manifests: String = "manifests"
    @Option(help: "On a stopped node: its sandbox profiles directory.") var profiles: String = "sandbox-profiles"

    func run() async throws {
        if let makeKey {
            do { try BackupKey.make(path: makeKey) } catch {
                FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
                throw ExitCode(1)
            }
            print("wrote a new backup key to \(makeKey) (mode 0600); keep a copy somewhere other than this machine")
            return
        }
        let bar = ProgressBar()
        if Peers.online(client) {
            if keyFile != nil {
                FileHandle.standardError.write(Data("error: a running node backs up under its own node.toml [backup] key_file; --key-file is for a stopped node\n".utf8))
                throw ExitCode(2)
            }
            let body: [UInt8] = to.map { Array((try? JSONSerialization.data(withJSONObject: ["to": URL(fileURLWithPath: $0).standardizedFileURL.path])) ?? Data()) } ?? []
            let result = try await Self.streamed(client, body: body, bar: bar)
            bar.clear()
            Self.report(result)
            return
        }
        let key: BackupKey?
        do { key = try keyFile.map { (path) throws(BackupError) in try BackupKey.load(path: path) } } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        let target = to.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let done = try OfflineNode.with(client.dataOption.data, manifests: manifests, profiles: profiles) { runtime throws(NodeError) in
            try runtime.backup(to: target, key: key, actor: OfflineNode.actor) { bar.show($0.phase, $0.done, $0.total) }
        }
        bar.clear()
        Self.report(["path": done.path, "bytes": done.bytes, "files": done.files, "snapshot": done.snapshot, "seconds": done.seconds,
                     "skipped": done.skipped])
    }

    static func report(_ done: [String: Any]) {
        let seconds = (done["seconds"] as? Double).map { String(format: "%.1f s", $0) } ?? "?"
        print("wrote \(done["path"] ?? "?") (\(done["files"] ?? "?") files, \(done["bytes"] ?? "?") bytes, in \(seconds))")
        print("snapshot at \(done["snapshot"] ?? "?"): every write acknowledged before then is in it")
        if let skipped = done["skipped"] as? [String], !skipped.isEmpty {
            print("warning: these apps' databases are NOT in it: \(skipped.joined(separator: "; "))")
        }
    }

    /// Asks the running node for a backup and follows its progress lines; returns the final `done` object.
    static func streamed(_ client: ClientOptions, body: [UInt8], bar: ProgressBar) async throws -> [String: Any] {
        try await AdminStream.follow(client, "/v1/admin/backup", body: body, bar: bar, what: "the backup") { object in
            bar.show(object["phase"] as? String ?? "", (object["done"] as? Int64) ?? Int64(object["done"] as? Int ?? 0),
                     (object["total"] as? Int64) ?? Int64(object["total"] as? Int ?? 0))
        }
    }
}

/// An owner-signed POST whose answer streams one JSON object per line (`application/x-ndjson`): progress lines, then
/// `{"done":{...}}` or `{"error":{...}}`.
enum AdminStream {
    /// Sends the request, hands each progress line to `progress`, and returns the `done` object.
    static func follow(_ client: ClientOptions, _ path: String, body: [UInt8], bar: ProgressBar, what: String,
                       progress: @escaping @Sendable ([String: Any]) -> Void) async throws -> [String: Any] {
        do {
            let key = try Keyring().load(client.key)
            let url = try client.baseURL() + path
            let signed: SignedHeaders
            do { signed = try RequestSigner(key: key).sign(method: "POST", url: url, body: body, created: Int64(Date().timeIntervalSince1970)) } catch {
                throw CLIError("error: cannot sign the request: \(error.message)")
            }
            let outcome = Mutex<(done: [UInt8]?, error: String?, pending: [UInt8])>((nil, nil, []))
            var headers = signed.fields.map { ($0.name, $0.value) }
            if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
            let answer = try await HTTPClient.stream(url, method: "POST", body: body, accept: "application/x-ndjson", headers: headers) { piece in
                outcome.withLock { o in
                    o.pending += piece
                    while let newline = o.pending.firstIndex(of: 10) {
                        let line = Array(o.pending[..<newline])
                        o.pending.removeFirst(newline + 1)
                        guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else { continue }
                        if object["done"] is [String: Any] { o.done = line }
                        else if let error = object["error"] as? [String: Any] { o.error = error["message"] as? String ?? "unknown error" }
                        else { progress(object) }
                    }
                    return o.pending.count < 1 << 20
                }
            }
            guard (200..<300).contains(answer.status) else {
                bar.clear()
                FileHandle.standardError.write(Data("HTTP \(answer.status): \(String(decoding: answer.body, as: UTF8.self))\n".utf8))
                throw ExitCode(1)
            }
            bar.clear()
            let (done, error) = outcome.withLock { ($0.done, $0.error) }
            if let error { throw CLIError("error: \(error)", code: 1) }
            guard let done, let object = (try? JSONSerialization.jsonObject(with: Data(done))) as? [String: Any],
                  let result = object["done"] as? [String: Any] else {
                throw CLIError("error: the node ended \(what) without saying how it went; see `syneroym audit show`", code: 1)
            }
            return result
        } catch let error as CLIError {
            bar.clear()
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(error.code)
        }
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class ProgressBar: Sendable {
    let enabled = isatty(2) == 1
    private let drawn = Mutex(false)

    func show(_ phase: String, _ done: Int64, _ total: Int64) {
        guard enabled, total > 0 else { return }
        let fraction = min(max(Double(done) / Double(total), 0), 1)
        let width = 30
        let filled = Int(fraction * Double(width))
        let amount = phase == "write" || phase == "sending" ? String(format: "%.1f/%.1f MB", Double(done) / 1e6, Double(total) / 1e6) : "\(done)/\(total) pages"
        let line = "\r[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + String(format: "%3d%% ", Int(fraction * 100)) + "\(phase.prefix(20)) \(amount)\u{1B}[K"
        drawn.withLock { $0 = true }
        FileHandle.standardError.write(Data(line.utf8))
    }

    func clear() {
        guard enabled, drawn.withLock({ d in defer { d = false }; return d }) else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
