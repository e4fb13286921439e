import ArgumentParser
import Foundation
import Synchronization

/// `syneroym apps migrate APP --to PEER`: the app, its database and its identity moved to a peer over their link.
struct AppsMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move an app, with its database and identity, to a peer node over your link (owner; the node must run).",
        discussion: """
            The app stops here at once (calls get 503 app_moving) and its bundle goes to the peer, which must list this \
            node in its node.toml [migration] accept_from. A cut link or a restart of either node resumes the transfer \
            where it stopped; running the command again follows it. When the peer has installed the app, this node \
            answers its calls with 410 app_moved naming the peer. If the peer refuses it, or you --cancel before the \
            peer has all of it, the app serves here again.
            """)
    @OptionGroup var client: ClientOptions
    @Option(parsing: .unconditional, help: "The peer's node id (`syneroym peers list`).") var to: String?
    @Flag(help: "Give the migration up; the app serves here again.") var cancel = false
    @Flag(help: "With --cancel: also after every byte was sent, when the peer is gone for good (if it installed the app, both nodes serve it).") var force = false
    @Argument(help: "The app id.") var app: String

    func validate() throws {
        guard cancel != (to != nil) else { throw ValidationError("give --to NODE_ID, or --cancel") }
        guard !force || cancel else { throw ValidationError("--force goes with --cancel") }
    }

    func run() async throws {
        guard Peers.online(client) else {
            FileHandle.standardError.write(Data("error: a migration goes over the node's links, so the node must run (`syneroym run`)\n".utf8))
            throw ExitCode(2)
        }
        let path = "/v1/admin/apps/\(Call.escape(app))/migrate"
        if cancel {
            let object = try await AdminRequest.send(client, "POST", path, body: Array(try JSONSerialization.data(withJSONObject: ["cancel": true, "force": force])))
            let done = object["done"] as? [String: Any] ?? [:]
            print("cancelled the migration of \(app) to node \(done["to"] ?? "?"): it serves here again")
            return
        }
        let bar = ProgressBar()
        let body = Array(try JSONSerialization.data(withJSONObject: ["to": to ?? ""]))
        let announced = Mutex(false)
        let done = try await AdminStream.follow(client, path, body: body, bar: bar, what: "the migration") { status in
            let resumed = (status["resumed_at"] as? Int64) ?? Int64(status["resumed_at"] as? Int ?? 0)
            if resumed > 0, !announced.withLock({ a in defer { a = true }; return a }) {
                bar.clear()
                FileHandle.standardError.write(Data("resuming at \(resumed) bytes\n".utf8))
            }
            bar.show(status["phase"] as? String ?? "", (status["sent"] as? Int64) ?? Int64(status["sent"] as? Int ?? 0),
                     (status["size"] as? Int64) ?? Int64(status["size"] as? Int ?? 0))
        }
        let message = done["message"] as? String ?? ""
        guard done["phase"] as? String == "moved" else {
            FileHandle.standardError.write(Data("error: \(app) did not move to node \(done["to"] ?? "?"): \(message)\n\(app) serves here again\n".utf8))
            throw ExitCode(1)
        }
        print("moved \(app) to node \(done["to"] ?? "?") (\(done["size"] ?? "?") bytes)")
        if !message.isEmpty { print(message) }
        print("this node now answers \(app)'s calls with 410 app_moved, naming that node")
    }
}
