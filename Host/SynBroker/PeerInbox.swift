/// What became of a message from a peer node handed to an app (`on_event` kind 3).
public enum PeerDelivery: Sendable, Equatable {
    /// The app saw it and its writes committed with the record of `seq`, the last sequence now applied.
    case applied(UInt64)
    /// It had been applied before; `applied` is the last sequence applied from that peer.
    case duplicate(applied: UInt64)
    /// An earlier message is missing: the sender must go back to the one after `applied`.
    case gap(applied: UInt64)
    /// The app or its worker failed; the message is delivered again later.
    case failed(String)
}

/// Where the node's links hand the messages peers send to this node's apps (the node's runtime).
public protocol PeerInbox: Sendable {
    /// Why `app` here takes no messages from `peer`, naming what would change that; nil when it takes them.
    func refusal(app: String, peer: String) -> String?
    /// Hands message `seq` from `peer` to `app`'s `on_event`; `done` is called once, on any thread.
    func deliver(app: String, peer: String, seq: UInt64, payload: [UInt8], done: @escaping @Sendable (PeerDelivery) -> Void)
}
