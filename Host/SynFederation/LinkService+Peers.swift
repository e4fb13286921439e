public import SynBroker
import SynSodium
import SynSystem

// MARK: - The owner's peers on a running node

extension LinkService {
    /// One added peer as `peers list` shows it: its address and name, its link, and its audit head held here.
    public struct PeerView: Sendable {
        public let peer: PeerStore.Peer
        public let link: LinkState?
        public let head: AuditHead?
        /// Messages of this node's apps waiting for the peer's acknowledgement.
        public let queued: Int
    }

    /// Adds (or re-addresses) a peer and dials it now.
    public func addPeer(_ address: PeerAddress, name: String) throws(FederationError) {
        let known = peers.list().first { $0.address.nodeID == address.nodeID }
        try peers.add(address, name: name, nowNs: WallClock.nowNs())
        // A new address takes effect at once: the old dialler and link go.
        if let known, known.address != address { forget(address.nodeID) }
        dial(address)
    }

    /// Removes a peer: its link closes and it is no longer dialled or accepted. False when there was none. Its
    /// messages still waiting here stay in `node.db` (and go out if it is added again).
    public func removePeer(_ nodeID: String) throws(FederationError) -> Bool {
        guard try peers.remove(nodeID) else { return false }
        forget(nodeID)
        return true
    }

    /// Every added peer with its link and witnessed head, and any other node whose link is up.
    public func peerViews() -> [PeerView] {
        let links = Dictionary(states().map { ($0.nodeID, $0) }) { first, _ in first }
        let added = peers.list()
        var views = added.map { peer in
            PeerView(peer: peer, link: links[peer.address.nodeID],
                     head: Base64URL.decode(peer.address.nodeID).flatMap { witnesses.head(of: $0) },
                     queued: links[peer.address.nodeID]?.queued ?? outbox?.netWaiting(peer: peer.address.nodeID) ?? 0)
        }
        let addedIDs = Set(added.map(\.address.nodeID))
        for (id, link) in links where !addedIDs.contains(id) {
            views.append(PeerView(peer: PeerStore.Peer(address: PeerAddress(nodeID: id, host: "", port: 0), name: ""), link: link, head: nil, queued: link.queued))
        }
        return views
    }
}
