import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import SynBroker
import SynConfig
import SynRuntime
import SynSandbox
import SynSodium

/// `GET /v1/apps`, `GET /v1/health` and `GET /metrics` (app calls are served by `AppCallHandler`). They need no
/// signature, but one that is sent must verify, as on every route.
struct AppRoutes: Sendable {
    let runtime: NodeRuntime
    let metrics: GatewayMetrics
    let signatures: SignatureCheck

    func add(to router: Router<GatewayContext>) {
        router.get("/v1/apps") { request, context in
            try checkSignature(request, context)
            return list(context)
        }
        router.get("/v1/health") { request, context in
            try checkSignature(request, context)
            return health(context)
        }
        router.get("/metrics") { request, context in
            try checkSignature(request, context)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.render() + backupMetrics())))
        }
    }

    /// A signed read must verify (401 otherwise); its body, if any, is not read, so a signature covering a
    /// `Content-Digest` of a body fails.
    private func checkSignature(_ request: Request, _ context: GatewayContext) throws(APIError) {
        guard SignatureCheck.isSigned(request.head) else { return }
        _ = try signatures.caller(of: request.head, body: [], client: context.channel.remoteAddress)
    }

    /// The request body, refused with 413 past `limit` (by Content-Length before reading, else while reading).
    static func body(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError.bodyTooLarge(limit: limit)
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer: buffer)
        } catch is NIOTooManyBytesError {
            throw APIError.bodyTooLarge(limit: limit)
        }
    }

    private func list(_ context: GatewayContext) -> Response {
        let apps: [[String: Any]] = runtime.apps().map { a in
            var o: [String: Any] = ["id": a.id, "name": a.name, "version": a.version, "state": a.state, "public_methods": a.publicMethods]
            // The app's own public key, as the node holds it: what its signed receipts are checked against.
            if let key = runtime.broker.publicKey(of: a.id) { o["key"] = Hex.encode(key) }
            return o
        }
        return GatewayJSON.response(.ok, ["apps": apps, "request_id": context.requestID])
    }

    /// The backup gauges, computed when asked: the last success (Unix seconds, 0 for never) and whether scheduled
    /// backups are late (`[backup] alert_hours`).
    private func backupMetrics() -> String {
        """
        # HELP syneroym_backup_last_success_timestamp_seconds When the last backup succeeded (0: never).
        # TYPE syneroym_backup_last_success_timestamp_seconds gauge
        syneroym_backup_last_success_timestamp_seconds \(runtime.lastBackup ?? 0)
        # HELP syneroym_backup_overdue 1 when scheduled backups are late (node.toml [backup] alert_hours).
        # TYPE syneroym_backup_overdue gauge
        syneroym_backup_overdue \(runtime.backupOverdue == nil ? 0 : 1)

        """
    }

    /// Built by hand: the request id is already limited to `[A-Za-z0-9._:-]`, so it needs no escaping.
    /// A node whose audit log cannot be written, or whose disk is below its reserve, is failing (503), and says why.
    private func health(_ context: GatewayContext) -> Response {
        if let refusal = runtime.auditRefusal() {
            return GatewayJSON.response(.serviceUnavailable, ["status": "failing", "audit": refusal, "request_id": context.requestID])
        }
        if let refusal = runtime.diskRefusal {
            return GatewayJSON.response(.serviceUnavailable, ["status": "failing", "disk": refusal, "request_id": context.requestID])
        }
        // The node's id: what a client names when it signs a call for an app to pass on (docs/abi.md §8).
        let node = Base64URL.encode(runtime.broker.nodePublicKey)
        // Late backups do not stop the node serving: it says so, and stays 200.
        // Said without the error's text (it names paths): `syneroym doctor` shows that to the owner.
        if runtime.backupOverdue != nil {
            return GatewayJSON.response(.ok, ["status": "degraded", "backup": "scheduled backups are late; `syneroym doctor` says why",
                                              "node": node, "request_id": context.requestID])
        }
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: #"{"node":""# + node + #"","request_id":""# + context.requestID + #"","status":"ok"}"#)))
    }
}
