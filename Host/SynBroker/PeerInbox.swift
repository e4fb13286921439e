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
    /// The node `app` moved to from here (`apps migrate`), if it did: peers sending to it are told to send there.
    func movedTo(app: String) -> String?
}

extension PeerInbox {
    public func movedTo(app: String) -> String? { nil }
}

/// Ephemeral topics (`msg_publish`) across links: what this node's apps subscribe to, and where a peer's
/// publications are handed over. Best-effort: nothing is stored.
public protocol TopicSubscribers: Sendable {
    /// Every (app, topic pattern) this node's running apps subscribe to (`messages.subscribe`, as granted), sent to
    /// each peer on its link.
    func subscriptions() -> [(app: String, topic: String)]
    /// A message on `topic` published by app `app` on `peer` (nil: on this node): handed to the local apps
    /// subscribed to it, dropped for any that is not keeping up.
    func deliverPublished(topic: String, payload: [UInt8], app: String, from peer: String?)
}
