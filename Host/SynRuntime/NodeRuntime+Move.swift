import Foundation
public import SynBackup
import SynBroker
import SynConfig
import SynSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An app between two nodes: stopped here while its bundle is written and travels (`apps migrate`, `apps export
/// --moved-to`), so nothing it writes here after its copy is lost. Calls get 503 `app_moving` naming the node it
/// goes to; `apps/<id>/moving.json` keeps that across restarts. The move ends one of two ways: the app moved
/// (`markMoved`, 410 from then on), or it serves here again (`endMove`).
extension NodeRuntime {
    /// Stops `app` for its move to `node`: its workers and streams end, and calls get 503 `app_moving`. Audited.
    public func beginMove(_ app: String, to node: String, actor: String, tag: String = "") throws(NodeError) {
        guard NameRules.isNodeID(node) else { throw NodeError(.config, "'\(node.prefix(64))' is not a node id (43 characters of base64url)") }
        try exclusively { () throws(NodeError) in
            guard state.withLock({ $0.entries[app] != nil }) else { throw NodeError(.unknownApp, "no app '\(app)' on this node") }
            if let to = state.withLock({ $0.moved[app] }) { throw NodeError(.version, "app '\(app)' has moved to node \(to) already") }
            if let to = state.withLock({ $0.moving[app] }), to != node {
                throw NodeError(.busy, "app '\(app)' is moving to node \(to); `syneroym apps migrate \(app) --cancel` first")
            }
            let path = InstalledApp.directory(data: layout.data, app: app) + "/moving.json"
            do {
                try JSONSerialization.data(withJSONObject: ["to": node, "at": Self.timestamp()], options: [.sortedKeys])
                    .write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch { throw NodeError(.io, "cannot write \(path): \(error.localizedDescription)") }
            state.withLock { $0.moving[app] = node }
            stopForSwap(app)
            state.withLock { $0.appsChanged }()
            broker.audit.append(actor: actor, app: app, action: "app.moving", decision: "ok",
                                cause: "stopped for its move to node \(node); calls get 503 app_moving" + AuditLog.requestSuffix(tag))
        }
    }

    /// `app` serves here again: its move was cancelled or failed (`why`). Audited. `start` false: it starts with the
    /// node (which has not started its apps yet).
    public func endMove(_ app: String, why: String, actor: String, tag: String = "", start: Bool = true) throws(NodeError) {
        try exclusively { () throws(NodeError) in
            guard state.withLock({ $0.moving[app] }) != nil else { return }
            unlink(InstalledApp.directory(data: layout.data, app: app) + "/moving.json")
            state.withLock { $0.moving[app] = nil }
            let problem = start && state.withLock({ $0.isEnabled(app) }) ? startApp(app) : nil
            state.withLock { $0.appsChanged }()
            broker.audit.append(actor: actor, app: app, action: "app.moving", decision: problem == nil ? "ended" : "failed",
                                cause: "serves here again: \(why)" + (problem.map { "; but it does not start: \($0)" } ?? "") + AuditLog.requestSuffix(tag))
        }
    }

    /// The node `app` is moving to, if it is.
    public func movingTo(_ app: String) -> String? { state.withLock { $0.moving[app] } }

    /// The node `app` moved to, if it did.
    public func movedTo(_ app: String) -> String? { state.withLock { $0.moved[app] } }

    /// `apps export --moved-to`: stops the app, writes its bundle, and marks it moved; if the bundle cannot be
    /// written the app serves here again.
    public func exportMoving(_ app: String, to path: String, key: BackupKey? = nil, movedTo node: String, actor: String, tag: String = "") throws(NodeError) -> Exported {
        try beginMove(app, to: node, actor: actor, tag: tag)
        do throws(NodeError) {
            let done = try exportApp(app, to: path, key: key, actor: actor, tag: tag)
            try markMoved(app, to: node, actor: actor, tag: tag)
            return done
        } catch {
            try? endMove(app, why: "its export failed: \(error.message)", actor: actor, tag: tag)
            throw error
        }
    }

    /// Refuses to start `app` while it moves.
    func refuseWhileMoving(_ app: String) throws(NodeError) {
        if let to = state.withLock({ $0.moving[app] }) {
            throw NodeError(.busy, "app '\(app)' is moving to node \(to); `syneroym apps migrate \(app) --cancel` keeps it here")
        }
    }

    /// The apps on their way to another node in `data`, by id.
    static func movingApps(data: String) -> [String: String] { nodeMarkers(data: data, file: "moving.json") }
}

extension NodeRuntime {
    /// `PeerInbox`: peers sending to an app that moved are told where it went.
    public func movedTo(app: String) -> String? { movedTo(app) }
}
