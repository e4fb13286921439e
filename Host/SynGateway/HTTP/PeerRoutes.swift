import Foundation
import Hummingbird
import SynBroker
import SynFederation
import SynRuntime
import SynSodium

/// `/v1/admin/peers`: the node owner's peers on a running node (the same as `syneroym peers` on a stopped one).
/// Listing shows each link's state, round trip, queue and message counts; adding and removing take effect at once
/// and are audited with the owner's key.
struct PeerRoutes: Sendable {
    let runtime: NodeRuntime
    let links: LinkService
    let signatures: SignatureCheck

    func add(to router: Router<GatewayContext>) {
        let admin = AdminRoutes(runtime: runtime, signatures: signatures)
        let peers = router.group("/v1/admin/peers")
        peers.get { request, context in
            _ = try await admin.owner(request, context)
            return GatewayJSON.response(.ok, ["peers": links.peerViews().map(Self.json), "request_id": context.requestID])
        }
        // {"peer": "NODE_ID@HOST:PORT", "name": "optional"}
        peers.post { request, context in
            let (actor, body) = try await admin.ownerAndBody(request, context)
            try auditable()
            guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
                  let text = object["peer"] as? String else {
                throw APIError(.badRequest, "bad_input", #"the body must be {"peer": "NODE_ID@HOST:PORT", "name": "optional"}, as `syneroym peers invite` prints it"#)
            }
            let name = object["name"] as? String ?? ""
            do throws(FederationError) {
                let address = try PeerAddress(parsing: text)
                try links.addPeer(address, name: name)
                runtime.broker.audit.append(actor: actor, app: "", action: "peers.add", decision: "ok",
                                            cause: "\(address)\(name.isEmpty ? "" : " (\(name))")" + AuditLog.requestSuffix(context.requestID))
                return GatewayJSON.response(.ok, ["peer": address.description, "name": name, "request_id": context.requestID])
            } catch {
                throw APIError(error.code == .storage ? .internalServerError : .badRequest, "bad_peer", error.message)
            }
        }
        // Which of this node's audit heads each linked peer holds (asked now), for `syneroym audit verify`.
        router.get("/v1/admin/witnesses") { request, context in
            _ = try await admin.owner(request, context)
            let names = Dictionary(links.peers.list().map { ($0.address.nodeID, $0.name) }) { first, _ in first }
            let held = await links.heldHeads()
            let witnesses: [[String: Any]] = held.keys.sorted().map { id in
                var o: [String: Any] = ["node_id": id, "name": names[id] ?? ""]
                switch held[id] {
                case .head(let head)?: o["head"] = head.text
                case .noAnswer(let why)?: o["error"] = why
                default: o["head"] = NSNull()
                }
                return o
            }
            return GatewayJSON.response(.ok, ["witnesses": witnesses, "request_id": context.requestID])
        }
        peers.delete("/{id}") { request, context in
            let actor = try await admin.owner(request, context)
            try auditable()
            let id = try context.parameters.require("id")
            let removed: Bool
            do throws(FederationError) { removed = try links.removePeer(id) } catch {
                throw APIError(.internalServerError, "storage", error.message)
            }
            guard removed else { throw APIError(.notFound, "unknown_peer", "no peer \(id); GET /v1/admin/peers lists them") }
            runtime.broker.audit.append(actor: actor, app: "", action: "peers.remove", decision: "ok",
                                        cause: id + AuditLog.requestSuffix(context.requestID))
            return GatewayJSON.response(.ok, ["removed": id, "request_id": context.requestID])
        }
    }

    /// An owner's action is audited, so it waits until the audit log can be written.
    private func auditable() throws {
        if let refusal = runtime.auditRefusal() {
            throw APIError(.serviceUnavailable, "audit_unavailable", refusal, headers: [.retryAfter: "1"])
        }
    }

    static func json(_ view: LinkService.PeerView) -> [String: Any] {
        var o: [String: Any] = ["node_id": view.peer.address.nodeID, "name": view.peer.name, "added": view.peer.address.port > 0]
        if view.peer.address.port > 0 { o["address"] = view.peer.address.description }
        if let link = view.link {
            o["state"] = link.phase.rawValue
            o["dialled_by"] = link.outbound ? "this node" : "the peer"
            if let error = link.lastError { o["last_error"] = error }
            if let rtt = link.rttMs { o["rtt_ms"] = (rtt * 100).rounded() / 100 }
            o["frames_in"] = link.framesIn
            o["frames_out"] = link.framesOut
            o["messages"] = ["sent": link.messagesSent, "acked": link.messagesAcked, "retried": link.messagesRetried, "queued": view.queued]
        } else {
            o["state"] = "not linked"
            o["messages"] = ["sent": 0, "acked": 0, "retried": 0, "queued": view.queued]
        }
        if let head = view.head { o["audit_head"] = ["seq": head.seq, "hash": Hex.encode(head.hash)] }
        return o
    }
}
