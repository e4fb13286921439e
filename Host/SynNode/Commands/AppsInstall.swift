import ArgumentParser
import Foundation
import Logging
import SynBroker
import SynRuntime

/// `syneroym apps install PKG`: installs or upgrades an app from a signed package. On a running node the package
/// is uploaded to `POST /v1/admin/apps/install`, signed with your owner key; on a stopped one the data directory
/// is changed directly (the new version is started once to check it, then stopped).
struct AppsInstall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Install or upgrade an app from a signed .synapp package (owner).",
        discussion: "The package is verified before any of its code runs. A new app is granted nothing unless you pass --grant-requested: it is installed disabled, and the capabilities it requests are printed. An upgrade snapshots the app's database, starts the new version and rolls back to the old one if it does not come up healthy.")
    @OptionGroup var client: ClientOptions
    @Flag(help: "Grant a new app every capability its manifest requests.") var grantRequested = false
    @Flag(help: "Accept a package signed by another developer key than the one pinned for the app id.") var newDeveloper = false
    @Option(help: "On a stopped node: its manifests directory.") var manifests: String = "manifests"
    @Option(help: "On a stopped node: its sandbox profiles directory.") var profiles: String = "sandbox-profiles"
    @Argument(help: "The package (.synapp).") var package: String

    func run() async throws {
        let path = URL(fileURLWithPath: package).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: path) else {
            FileHandle.standardError.write(Data("error: no package at \(path)\n".utf8))
            throw ExitCode(2)
        }
        if Peers.online(client) {
            let body: [UInt8]
            do { body = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                FileHandle.standardError.write(Data("error: cannot read \(path): \(error.localizedDescription)\n".utf8))
                throw ExitCode(2)
            }
            var query: [String] = []
            if grantRequested { query.append("grant_requested=1") }
            if newDeveloper { query.append("new_developer=1") }
            let object = try await AdminRequest.send(client, "POST", "/v1/admin/apps/install" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")),
                                                     body: body, contentType: "application/vnd.syneroym.synapp")
            Self.report(object)
            return
        }
        let object = try OfflineNode.with(client.dataOption.data, manifests: manifests, profiles: profiles) { runtime throws(NodeError) in
            let done = try runtime.install(package: path, options: .init(grantRequested: grantRequested, newDeveloper: newDeveloper),
                                           actor: OfflineNode.actor)
            var object: [String: Any] = ["app": done.app, "version": done.version, "developer": done.developer,
                                         "state": done.state,
                                         "requested": done.requested, "not_granted": done.notGranted]
            if let previous = done.previous { object["previous"] = previous }
            if let section = done.section { object["node_toml"] = section }
            return object
        }
        Self.report(object)
    }

    /// What the node answered, for people.
    static func report(_ object: [String: Any]) {
        let app = object["app"] as? String ?? "?", version = object["version"] as? String ?? "?"
        if let previous = object["previous"] as? String {
            print("upgraded \(app) from \(previous) to \(version)")
            if object["state"] as? String == "disabled" {
                print("not started: \(app) is disabled, so its init and migrations run when you enable it (`syneroym apps rollback \(app)` goes back)")
            }
        } else {
            print("installed \(app) \(version)")
        }
        print("developer key: \(object["developer"] as? String ?? "?")")
        print("state: \(object["state"] as? String ?? "?")")
        let requested = object["requested"] as? [String] ?? []
        print("requests: \(requested.isEmpty ? "nothing" : "")")
        for line in requested { print("  \(line)") }
        let missing = object["not_granted"] as? [String] ?? []
        if !missing.isEmpty {
            print("not granted by node.toml [apps.\(app).grants]: \(missing.joined(separator: ", "))")
            if object["state"] as? String == "disabled" {
                print("it is installed disabled: in node.toml, grant what you accept under [apps.\(app).grants] and under [apps.\(app)] set enabled = true, then `syneroym apps restart \(app)`; or install it with --grant-requested")
            } else {
                print("grant what you accept under [apps.\(app).grants] in node.toml, then `syneroym apps restart \(app)`")
            }
        }
    }
}

/// `syneroym apps rollback APP`: back one installed version, with the database as it was before the current one.
struct AppsRollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Go back one installed version of an app (owner).",
        discussion: "The previous package runs again on the database as it was just before the current version was installed. The database as the current version left it is kept in <data>/apps/APP/snapshots/, named in the output.")
    @OptionGroup var client: ClientOptions
    @Option(help: "On a stopped node: its manifests directory.") var manifests: String = "manifests"
    @Option(help: "On a stopped node: its sandbox profiles directory.") var profiles: String = "sandbox-profiles"
    @Argument(help: "The app id.") var app: String

    func run() async throws {
        let object: [String: Any]
        if Peers.online(client) {
            object = try await AdminRequest.send(client, "POST", "/v1/admin/apps/\(Call.escape(app))/rollback")
        } else {
            object = try OfflineNode.with(client.dataOption.data, manifests: manifests, profiles: profiles) { runtime throws(NodeError) in
                let done = try runtime.rollback(app: app, actor: OfflineNode.actor)
                return ["app": done.app, "from": done.from, "to": done.to, "kept_aside": done.keptAside]
            }
        }
        print("rolled \(object["app"] ?? app) back from \(object["from"] ?? "?") to \(object["to"] ?? "?")")
        print("the database \(object["from"] ?? "?") left is kept in \(client.dataOption.data)/apps/\(app)/snapshots/\(object["kept_aside"] ?? "?")")
    }
}

/// `syneroym apps versions APP`: the versions kept from packages.
struct AppsVersions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "versions", abstract: "List the installed versions of an app kept for rollback (owner).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The app id.") var app: String

    func run() async throws {
        let object = try await AdminRequest.send(client, "GET", "/v1/admin/apps/\(Call.escape(app))/versions")
        let versions = object["versions"] as? [[String: Any]] ?? []
        guard !versions.isEmpty else {
            print(object["note"] as? String ?? "no versions")
            return
        }
        print("developer key: \(object["developer"] as? String ?? "?")")
        for (i, v) in versions.enumerated() {
            let mark = i == versions.count - 1 ? "*" : " "
            print("\(mark) \(v["version"] ?? "?")\tinstalled \(v["installed_at"] ?? "?") by \(v["by"] ?? "?")\t\(v["package"] ?? "")")
        }
    }
}
