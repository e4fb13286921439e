public import SynBroker
import SynConfig
import SynSandbox
import SynWire
import Synchronization

/// Messages from peer nodes (`net_send` on their side) reach this node's apps here, as `on_event` kind 3 through the
/// app's supervisor. The app's worker applies each one exactly once (it records the last sequence applied from each
/// peer in the app's database, in the same transaction as the app's writes) and says which it was.
extension NodeRuntime: PeerInbox {
    public func refusal(app: String, peer: String) -> String? {
        let found: (AppManifest, NodeConfig, Bool)? = state.withLock { s in
            s.entries[app].map { ($0.manifest, s.node, s.isEnabled(app) && $0.supervisor != nil) }
        }
        guard let (manifest, node, running) = found else { return "this node has no app '\(app)'" }
        if let denial = Policy(manifest: manifest, node: node).denial(.netPeer(peer)) { return denial }
        return running ? nil : "app '\(app)' is not running here (syneroym apps enable \(app))"
    }

    /// Why `app` may not send to node `peer` under its grants here, naming the key that would allow it; nil when it may.
    public func netPeerDenial(app: String, peer: String) -> String? {
        guard let (manifest, node) = state.withLock({ s in s.entries[app].map { ($0.manifest, s.node) } }) else { return "this node has no app '\(app)'" }
        return Policy(manifest: manifest, node: node).denial(.netPeer(peer))
    }

    public func deliver(app: String, peer: String, seq: UInt64, payload: [UInt8], done: @escaping @Sendable (PeerDelivery) -> Void) {
        guard let supervisor = state.withLock({ $0.entries[app]?.supervisor }) else {
            return done(.failed("app '\(app)' is not running"))
        }
        supervisor.submitEvent(kind: 3, topic: Array(peer.utf8), payload: payload, token: seq) { result in
            switch result {
            case .failure(let error):
                done(.failed(error.message))
            case .success(let reply) where reply.status != SynStatus.ok:
                done(.failed("on_event answered \(reply.status): \(String(decoding: reply.body.prefix(300), as: UTF8.self))"))
            case .success(let reply):
                var r = WireReader(reply.body)
                guard let outcome = try? r.u8(), let applied = try? r.u64() else {
                    return done(.failed("the worker's answer to a peer message is malformed"))
                }
                switch outcome {
                case 0: done(.applied(applied))
                case 1: done(.duplicate(applied: applied))
                case 2: done(.gap(applied: applied))
                default: done(.failed("the worker's answer to a peer message is malformed"))
                }
            }
        }
    }
}
