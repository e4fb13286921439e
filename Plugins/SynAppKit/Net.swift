import FoundationEssentials
import PluginABI

/// Durable messages to this same app on peer nodes (`net_send`, granted by manifest `net.peers` ∩ node.toml):
/// each is kept only if the call commits, and reaches the peer's `Routes.onPeerMessage` exactly once, in order.
public struct Net: Sendable {
    let host: Host

    /// Sends `payload` as JSON (at most 64 KiB) to the app on node `peer` (its node id, as `syneroym keys show`
    /// prints it for the node). Refused (`HostError`) when the peer is not granted or the app's outbox is full.
    public func send<T: Encodable>(to peer: String, _ payload: T) throws {
        let json = Array(try JSONKeys.current.encoder.encode(payload))
        let status = Host.withBuf(Array(peer.utf8)) { p in Host.withBuf(json) { host.table.pointee.net_send(host.ctx, p, $0) } }
        try host.check(status, "net_send")
    }
}

extension Context {
    /// Messages to this app on other nodes.
    public var net: Net { Net(host: host) }
}
