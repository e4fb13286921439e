import Foundation
import Hummingbird
import HTTPTypes
import SynBroker
import SynConfig
import SynRuntime
import SynSandbox
import SynSodium
import Synchronization

/// `/v1/admin/...`: the node owner's actions. Every request must be signed by a key listed in node.toml
/// `[node] owners`; every action is audited with that key as the actor.
struct AdminRoutes: Sendable {
    let runtime: NodeRuntime
    let signatures: SignatureCheck

    /// The nodes (runtimes) whose audit log is being verified now.
    static let verifying = Mutex<Set<ObjectIdentifier>>([])

    func add(to router: Router<GatewayContext>) {
        let admin = router.group("/v1/admin")
        admin.get("/apps") { request, context in
            _ = try await owner(request, context)
            let apps: [[String: Any]] = runtime.apps().map { a in
                var o: [String: Any] = ["id": a.id, "name": a.name, "version": a.version, "state": a.state,
                                        "profile": a.profile, "public_methods": a.publicMethods, "busy_instances": a.busyInstances]
                if let problem = a.problem { o["problem"] = problem }
                return o
            }
            return GatewayJSON.response(.ok, ["apps": apps, "request_id": context.requestID])
        }
        // Adds an app from a manifest on this machine: {"manifest": "/absolute/path.toml"}.
        admin.post("/apps") { request, context in
            let (actor, body) = try await ownerAndBody(request, context)
            if let refusal = runtime.auditRefusal() {
                throw APIError(.serviceUnavailable, "audit_unavailable", refusal, headers: [.retryAfter: "1"])
            }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
                  let path = object["manifest"] as? String, path.hasPrefix("/") else {
                throw APIError(.badRequest, "bad_input", #"the body must be {"manifest": "/absolute/path/to/app.toml"}, a file on the node's machine"#)
            }
            let runtime = self.runtime, tag = context.requestID
            let added = try await Self.offThread { () throws(NodeError) -> NodeRuntime.AddedApp in
                try runtime.addApp(manifestPath: path, actor: actor, tag: tag)
            }
            return GatewayJSON.response(.ok, ["app": added.status.id, "state": added.status.state, "profile": added.status.profile,
                                              "node_toml": added.section, "request_id": context.requestID])
        }
        for action in ["enable", "disable", "restart"] {
            admin.post("/apps/{app}/\(action)") { request, context in
                let actor = try await owner(request, context)
                let app = try context.parameters.require("app")
                // An owner's action is audited, so it waits until the audit log can be written.
                if let refusal = runtime.auditRefusal() {
                    throw APIError(.serviceUnavailable, "audit_unavailable", refusal, headers: [.retryAfter: "1"])
                }
                let runtime = self.runtime, tag = context.requestID
                let status: AppStatus = try await Self.offThread { () throws(NodeError) -> AppStatus in
                    switch action {
                    case "enable": return try runtime.setEnabled(true, app: app, actor: actor, tag: tag)
                    case "disable": return try runtime.setEnabled(false, app: app, actor: actor, tag: tag)
                    default: return try runtime.restart(app: app, actor: actor, tag: tag)
                    }
                }
                return GatewayJSON.response(.ok, ["app": status.id, "state": status.state, "request_id": context.requestID])
            }
        }
        admin.get("/apps/{app}/logs") { request, context in
            _ = try await owner(request, context)
            let app = try context.parameters.require("app")
            guard runtime.app(app) != nil else { throw APIError(.notFound, "unknown_app", "no app '\(app)' on this node") }
            let count = min(max(request.uri.queryParameters.get("lines", as: Int.self) ?? 100, 1), 1000)
            let names = ["trace", "debug", "info", "warn", "error"]
            let lines: [[String: Any]] = runtime.logs(of: app, count: count).map { line in
                ["ts": line.time.timeIntervalSince1970, "level": names.indices.contains(Int(line.level)) ? names[Int(line.level)] : "\(line.level)",
                 "message": line.message, "request_id": line.requestID]
            }
            return GatewayJSON.response(.ok, ["app": app, "lines": lines, "request_id": context.requestID])
        }
        admin.get("/stats") { request, context in
            _ = try await owner(request, context)
            var apps: [String: Any] = [:]
            for (app, f) in runtime.footprints() {
                apps[app] = ["calls": f.calls, "errors": f.errors, "client_errors": f.clientErrors, "wall_ms": f.wallMs, "cpu_ms": f.cpuMs,
                             "storage_bytes": f.storageBytes, "events_emitted": f.eventsEmitted, "denials": f.denials,
                             "deaths": f.deaths]
            }
            return GatewayJSON.response(.ok, ["apps": apps, "request_id": context.requestID])
        }
        // The whole log checked now, as `syneroym audit verify` checks it: every entry's chain link and signature,
        // the signed checkpoints, and the signed head. Read-only; off the event loop.
        admin.get("/audit/verify") { request, context in
            _ = try await owner(request, context)
            let path = runtime.layout.data + "/node.db", head = runtime.layout.data + "/audit.head"
            let key = runtime.broker.nodePublicKey
            // One at a time per node: it reads the whole log.
            let node = ObjectIdentifier(runtime)
            guard Self.verifying.withLock({ $0.insert(node).inserted }) else {
                throw APIError(.conflict, "busy", "the audit log is being verified already; wait for that answer")
            }
            defer { _ = Self.verifying.withLock { $0.remove(node) } }
            let report = try await Self.offThread { () throws(NodeError) -> AuditVerifier.Report in
                do throws(BrokerError) { return try AuditVerifier.verify(path: path, nodePublicKey: key, headPath: head) } catch {
                    throw NodeError(.storage, error.message)
                }
            }
            var o: [String: Any] = ["ok": report.firstBroken == nil, "entries": report.entries, "checkpoints": report.checkpoints,
                                    "request_id": context.requestID]
            if let head = report.head { o["head_seq"] = head.seq }
            if let broken = report.firstBroken { o["first_broken"] = ["seq": broken.seq, "reason": broken.reason] }
            return GatewayJSON.response(.ok, o)
        }
        admin.get("/audit") { request, context in
            _ = try await owner(request, context)
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 100, 1), 1000)
            let entries: [[String: Any]] = runtime.broker.audit.recent(limit).map { e in
                ["seq": e.seq, "time_ns": e.timeNs, "actor": e.actor, "app": e.app, "action": e.action,
                 "decision": e.decision, "cause": e.cause, "hash": Hex.encode(e.hash)]
            }
            return GatewayJSON.response(.ok, ["entries": entries, "request_id": context.requestID])
        }
    }

    /// The verified owner key (base64url) of a signed request; 401 unsigned, 403 signed by a non-owner.
    func owner(_ request: Request, _ context: GatewayContext) async throws -> String {
        try await ownerAndBody(request, context).owner
    }

    /// The verified owner key and the request's body (at most 64 KiB).
    func ownerAndBody(_ request: Request, _ context: GatewayContext) async throws -> (owner: String, body: [UInt8]) {
        let body = try await AppRoutes.body(request, limit: 64 * 1024)
        let caller = try signatures.caller(of: request.head, body: body, client: context.channel.remoteAddress)
        guard !caller.isEmpty else {
            throw APIError(.unauthorized, "signature_required", "/v1/admin needs a request signed by a node owner (docs/request-signing.md)",
                           headers: [.wwwAuthenticate: #"Signature realm="syneroym", alg="ed25519""#])
        }
        let id = Base64URL.encode(caller)
        guard runtime.config.owners.contains(id) else {
            runtime.broker.audit.append(actor: id, app: "", action: "admin", decision: "denied",
                                        cause: "\(request.method.rawValue) \(request.uri.path): not listed in node.toml [node] owners" + AuditLog.requestSuffix(context.requestID))
            throw APIError(.forbidden, "not_an_owner", "key \(id) is not listed in node.toml [node] owners")
        }
        return (id, body)
    }

    /// Runs a blocking management action on its own thread, off the event loops.
    static func offThread<T: Sendable>(_ body: @escaping @Sendable () throws(NodeError) -> T) async throws -> T {
        let result: Result<T, NodeError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                do throws(NodeError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.start()
        }
        switch result {
        case .success(let value): return value
        case .failure(let error):
            let status: HTTPResponse.Status = switch error.code {
            case .unknownApp: .notFound
            case .appLoad, .developerKey, .version, .busy: .conflict
            case .config, .package: .badRequest
            default: .internalServerError
            }
            throw APIError(status, error.code.rawValue, error.message)
        }
    }
}
