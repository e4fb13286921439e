import SynSQLite

/// `net_send`'s exactly-once on the receiving side: the last message the app applied from each peer node, in
/// `syn_net_applied`, read and advanced inside the transaction of the app's `on_event`, so the record and the app's
/// writes commit together or not at all. A message at or below it is a redelivery and is not shown to the app again.
extension AppStore {
    /// Where message `seq` from a peer stands against the last one the app applied from that peer.
    public enum PeerMessage: Equatable, Sendable {
        /// The next one: the app sees it.
        case next
        /// Applied before (a redelivery after a crash or a lost ack).
        case duplicate(applied: UInt64)
        /// Past the next one: an earlier message is missing, so this one waits for the sender to go back.
        case gap(applied: UInt64)
    }

    /// Begins the call's transaction and places message `seq` from `peer` (a node id).
    public func placePeerMessage(peer: String, seq: UInt64) throws(StoreFailure) -> PeerMessage {
        let rows = try kv("SELECT seq FROM syn_net_applied WHERE peer = ?", [.text(peer)])
        var applied: UInt64 = 0
        if case .integer(let last)? = rows.first?.first { applied = UInt64(bitPattern: last) }
        if seq <= applied { return .duplicate(applied: applied) }
        return seq == applied + 1 ? .next : .gap(applied: applied)
    }

    /// Records message `seq` from `peer` as applied, in the call's transaction.
    public func recordPeerMessage(peer: String, seq: UInt64) throws(StoreFailure) {
        _ = try kv("""
            INSERT INTO syn_net_applied(peer, seq) VALUES (?, ?) ON CONFLICT(peer) DO UPDATE SET seq = excluded.seq
            """, [.text(peer), .integer(Int64(bitPattern: seq))])
    }
}
