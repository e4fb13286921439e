import ArgumentParser
import Foundation
import SynBackup
import SynRuntime

/// `syneroym apps export APP --to FILE`: the app's package, database and identity in one encrypted bundle signed by
/// this node, for `apps import` on another.
struct AppsExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write an app's package, database and identity to an encrypted bundle signed by this node (owner).",
        discussion: "The app keeps running here (with --moved-to it stops first, so nothing it writes afterwards is lost); its database is copied as a backup copies it. Its pending timers go with it; its messages for peers not yet acknowledged are still delivered from here. The bundle is encrypted under --key-file, else node.toml [backup] key_file: the other node's owner needs the same key. The app's key travels, so what it signed keeps verifying where it goes.")
    @OptionGroup var client: ClientOptions
    @Option(help: "The bundle to write (on a running node, a path on its machine).") var to: String
    @Option(help: "The key file to encrypt under (32 bytes or a passphrase; on a running node, a path on its machine).") var keyFile: String?
    @Option(parsing: .unconditional, help: "Then stop serving the app here: calls get 410 app_moved naming this node id (where it was imported).") var movedTo: String?
    @Option(help: "On a stopped node: its manifests directory.") var manifests: String = "manifests"
    @Option(help: "On a stopped node: its sandbox profiles directory.") var profiles: String = "sandbox-profiles"
    @Argument(help: "The app id.") var app: String

    func run() async throws {
        let target = URL(fileURLWithPath: to).standardizedFileURL.path
        let keyPath = keyFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let object: [String: Any]
        if Peers.online(client) {
            var body: [String: Any] = ["to": target]
            if let keyPath { body["key_file"] = keyPath }
            if let movedTo { body["moved_to"] = movedTo }
            object = try await AdminRequest.send(client, "POST", "/v1/admin/apps/\(Call.escape(app))/export",
                                                 body: Array(try JSONSerialization.data(withJSONObject: body)))
        } else {
            let key = try Self.key(keyPath)
            object = try OfflineNode.with(client.dataOption.data, manifests: manifests, profiles: profiles) { runtime throws(NodeError) in
                let done: NodeRuntime.Exported
                if let movedTo {
                    done = try runtime.exportMoving(app, to: target, key: key, movedTo: movedTo, actor: OfflineNode.actor)
                } else {
                    done = try runtime.exportApp(app, to: target, key: key, actor: OfflineNode.actor)
                }
                return ["app": done.app, "version": done.version, "path": done.path, "bytes": done.bytes, "node": done.node]
            }
        }
        print("exported \(object["app"] ?? app) \(object["version"] ?? "?") to \(object["path"] ?? target) (\(object["bytes"] ?? "?") bytes)")
        print("signed by node \(object["node"] ?? "?"): give the other owner this id to check with `apps import --from`")
        if let movedTo { print("\(app) no longer runs here: calls get 410 app_moved, naming node \(movedTo)") }
    }

    static func key(_ path: String?) throws -> BackupKey? {
        guard let path else { return nil }
        do { return try BackupKey.load(path: path) } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
    }
}

/// `syneroym apps import BUNDLE`: an app exported by another node, with its database and identity.
struct AppsImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Install an app from another node's export, with its database and identity (owner).",
        discussion: "Everything is checked first: the key, every record and hash, the exporting node's signature (--from names the node you expect), and the package as `apps install` checks one. The node must not have the app already.")
    @OptionGroup var client: ClientOptions
    @Option(help: "The key file the bundle was encrypted under (default: node.toml [backup] key_file).") var keyFile: String?
    @Option(parsing: .unconditional, help: "The node id the bundle must come from (as `apps export` printed it).") var from: String?
    @Flag(help: "Grant the app everything its manifest requests.") var grantRequested = false
    @Flag(help: "An app coming back to this node: accept a package signed by another developer key than the one pinned for it here.") var newDeveloper = false
    @Option(help: "On a stopped node: its manifests directory.") var manifests: String = "manifests"
    @Option(help: "On a stopped node: its sandbox profiles directory.") var profiles: String = "sandbox-profiles"
    @Argument(help: "The bundle.") var bundle: String

    func run() async throws {
        let source = URL(fileURLWithPath: bundle).standardizedFileURL.path
        let keyPath = keyFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let object: [String: Any]
        if Peers.online(client) {
            var body: [String: Any] = ["bundle": source, "grant_requested": grantRequested, "new_developer": newDeveloper]
            if let keyPath { body["key_file"] = keyPath }
            if let from { body["from"] = from }
            object = try await AdminRequest.send(client, "POST", "/v1/admin/apps/import", body: Array(try JSONSerialization.data(withJSONObject: body)))
        } else {
            let key = try AppsExport.key(keyPath)
            let options = NodeRuntime.InstallOptions(grantRequested: grantRequested, newDeveloper: newDeveloper)
            object = try OfflineNode.with(client.dataOption.data, manifests: manifests, profiles: profiles) { runtime throws(NodeError) in
                let done = try runtime.importApp(from: source, key: key, expectedNode: from, options: options, actor: OfflineNode.actor)
                return ["app": done.installed.app, "version": done.installed.version, "from": done.from, "state": done.installed.state,
                        "requested": done.installed.requested, "not_granted": done.installed.notGranted]
            }
        }
        print("imported \(object["app"] ?? "?") \(object["version"] ?? "?") from node \(object["from"] ?? "?"), with its database and identity")
        print("state: \(object["state"] ?? "?")")
        let missing = object["not_granted"] as? [String] ?? []
        if !missing.isEmpty {
            print("not granted by node.toml [apps.\(object["app"] ?? "?").grants]: \(missing.joined(separator: ", "))")
        }
    }
}
