import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import SynConfig
import SynRuntime
import Synchronization

/// `POST /v1/admin/backup`: an encrypted backup of the node, written on the node's machine, while it serves.
/// Owner-signed. The answer streams one JSON object per line (`application/x-ndjson`): progress
/// (`{"phase","done","total"}`, at most ten a second), then `{"done":{...}}` or `{"error":{...}}`.
struct BackupRoutes: Sendable {
    let runtime: NodeRuntime
    let signatures: SignatureCheck

    func add(to router: Router<GatewayContext>) {
        let admin = AdminRoutes(runtime: runtime, signatures: signatures)
        // The last backup and the schedule: what the owner's page shows.
        router.get("/v1/admin/backup") { request, context in
            _ = try await admin.owner(request, context)
            let record = runtime.backupRecord
            let settings = runtime.backupSettings
            var o: [String: Any] = ["every_hours": settings.everyHours, "keep": settings.keep, "alert_hours": settings.alertHours,
                                    "key_set": settings.keyFile != nil, "overdue": runtime.backupOverdue != nil, "request_id": context.requestID]
            if let ok = record.lastOK { o["last_ok"] = ok }
            if let attempt = record.lastAttempt { o["last_attempt"] = attempt }
            if let error = record.lastError { o["last_error"] = error }
            return GatewayJSON.response(.ok, o)
        }
        router.post("/v1/admin/backup") { request, context in
            let (actor, body) = try await admin.ownerAndBody(request, context)
            if let refusal = runtime.auditRefusal() {
                throw APIError(.serviceUnavailable, "audit_unavailable", refusal, headers: [.retryAfter: "1"])
            }
            var directory: String?
            if !body.isEmpty {
                guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
                    throw APIError(.badRequest, "bad_input", #"the body must be {} or {"to": "/absolute/directory"} on the node's machine"#)
                }
                if let to = object["to"] {
                    guard let path = to as? String, path.hasPrefix("/") else {
                        throw APIError(.badRequest, "bad_input", #""to" must be an absolute directory on the node's machine"#)
                    }
                    directory = path
                }
            }
            let runtime = self.runtime, tag = context.requestID, target = directory
            let last = Mutex<Int64>(0)
            return GatewayJSON.stream { yield, _ in
                do throws(NodeError) {
                    let done = try runtime.backup(to: target, actor: actor, tag: tag) { p in
                        let now = Int64(Date().timeIntervalSince1970 * 10)
                        guard last.withLock({ l in defer { l = now }; return l != now }) else { return }
                        yield(GatewayJSON.line(["phase": p.phase, "done": p.done, "total": p.total]))
                    }
                    yield(GatewayJSON.line(["done": ["path": done.path, "bytes": done.bytes, "files": done.files,
                                                     "snapshot": done.snapshot, "seconds": done.seconds, "skipped": done.skipped]]))
                } catch {
                    yield(GatewayJSON.line(["error": ["code": error.code.rawValue, "message": error.message]]))
                }
            }
        }
    }
}
