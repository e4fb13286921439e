/// One peer's link as `peers list` shows it.
public struct LinkState: Sendable, Equatable {
    public enum Phase: String, Sendable {
        case connecting, connected
        /// Waiting before the next attempt, after `lastError`.
        case backoff
    }

    public var nodeID: String
    public var phase: Phase
    /// Who dialled the link that is up (or being tried): this node (`outbound`) or the peer.
    public var outbound: Bool
    public var lastError: String?
    /// The last ping's round trip, milliseconds.
    public var rttMs: Double?
    public var framesIn = 0
    public var framesOut = 0
    /// `net_send` messages sent on this peer's links (retries included), acknowledged, and sent again.
    public var messagesSent = 0
    public var messagesAcked = 0
    public var messagesRetried = 0
    /// Messages waiting in `node.db` for this peer's acknowledgement.
    public var queued = 0

    public init(nodeID: String, phase: Phase, outbound: Bool) {
        self.nodeID = nodeID
        self.phase = phase
        self.outbound = outbound
    }
}
