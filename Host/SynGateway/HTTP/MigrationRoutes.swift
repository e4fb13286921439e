import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import SynMigration
import SynRuntime

/// `POST /v1/admin/apps/{app}/migrate` (`{"to": NODE}` or `{"cancel": true}`) and `GET /v1/admin/apps/{app}/migration`:
/// moving an app to a peer over their link. Owner-signed. The POST answer streams one JSON object per line
/// (`application/x-ndjson`): the migration's status when it changes (at most four a second), then `{"done":{...}}`
/// once the peer answered, or `{"error":{...}}`. A client that goes away stops only the stream: the migration goes on
/// in the node, and the same request follows it again.
struct MigrationRoutes: Sendable {
    let runtime: NodeRuntime
    let migrations: Migrations
    let signatures: SignatureCheck

    func add(to router: Router<GatewayContext>) {
        let admin = AdminRoutes(runtime: runtime, signatures: signatures)
        router.get("/v1/admin/apps/{app}/migration") { request, context in
            _ = try await admin.owner(request, context)
            let app = try context.parameters.require("app")
            guard let status = migrations.status(app) else {
                throw APIError(.notFound, "no_migration", "'\(app)' has no migration on this node (`syneroym apps migrate \(app) --to NODE` starts one)")
            }
            var object = Self.object(status)
            object["request_id"] = context.requestID
            return GatewayJSON.response(.ok, object)
        }
        router.post("/v1/admin/apps/{app}/migrate") { request, context in
            let (actor, body) = try await admin.ownerAndBody(request, context)
            let app = try context.parameters.require("app")
            let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
            let cancel = object["cancel"] as? Bool ?? false
            guard cancel || object["to"] is String else {
                throw APIError(.badRequest, "bad_input", #"the body must be {"to": "NODE_ID"} (a peer of this node) or {"cancel": true}"#)
            }
            if let refusal = runtime.auditRefusal() { throw APIError(.serviceUnavailable, "audit_unavailable", refusal, headers: [.retryAfter: "1"]) }
            let migrations = self.migrations, tag = context.requestID, to = object["to"] as? String ?? "", force = object["force"] as? Bool ?? false
            if cancel {
                let status = try await AdminRoutes.offThread { () throws(NodeError) -> MigrationStatus in
                    try migrations.cancel(app, force: force, actor: actor, tag: tag)
                }
                return GatewayJSON.response(.ok, ["done": Self.object(status), "request_id": context.requestID])
            }
            return GatewayJSON.stream { yield, gone in
                var last: MigrationStatus?
                do throws(NodeError) {
                    var status = try migrations.start(app, to: to, actor: actor, tag: tag)
                    while true {
                        if status != last { yield(GatewayJSON.line(status.isFinal ? ["done": Self.object(status)] : Self.object(status))) }
                        last = status
                        // The client left: the migration goes on without it.
                        if status.isFinal || gone() { break }
                        usleep(250_000)
                        guard let next = migrations.status(app) else { break }
                        status = next
                    }
                } catch {
                    yield(GatewayJSON.line(["error": ["code": error.code.rawValue, "message": error.message]]))
                }
            }
        }
    }

    static func object(_ s: MigrationStatus) -> [String: Any] {
        var o: [String: Any] = ["app": s.app, "to": s.to, "phase": s.phase.rawValue, "sent": s.sent, "size": s.size, "resumed_at": s.resumedAt]
        if let message = s.message { o["message"] = message }
        return o
    }
}
