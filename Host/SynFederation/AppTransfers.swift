/// One app's bundle on its way to a peer (`apps migrate`): the file, its size and SHA-256, and the key it is
/// encrypted under (sent inside the link's TLS, so only the receiving node can open it).
public struct OutgoingTransfer: Sendable, Equatable {
    public let id: UInt64
    public let app: String
    public let peer: String
    public let path: String
    public let size: UInt64
    public let digest: [UInt8]
    public let key: [UInt8]

    public init(id: UInt64, app: String, peer: String, path: String, size: UInt64, digest: [UInt8], key: [UInt8]) {
        self.id = id; self.app = app; self.peer = peer; self.path = path; self.size = size; self.digest = digest; self.key = key
    }
}

/// How far an outgoing transfer has gone.
public struct TransferProgress: Sendable, Equatable {
    public let size: UInt64
    /// Bytes the receiver holds.
    public let acked: UInt64
    /// Where the receiver went on from when the latest link started (above 0: an interrupted transfer resumed).
    public let resumedAt: UInt64
    /// Whether the receiver answered on the link that is up now.
    public let started: Bool
}

/// What the node does with apps arriving over its links and with the answers to those it sends (the node's
/// migrations). Called off the links' event loops where it may take time.
public protocol AppTransfers: Sendable {
    /// Why `peer` may not send app `app`, `size` bytes, to this node, naming what would allow it; nil when it may.
    /// `alsoArriving`: the bytes of the other bundles arriving meanwhile, which need room as well.
    func refusal(app: String, size: UInt64, from peer: String, alsoArriving: UInt64) -> String?
    /// Where partial and finished transfers are kept (`<data>/incoming`).
    var transferDirectory: String { get }
    /// The whole bundle of `app` is at `path` and matches the offer's SHA-256: install it. Returns whether it was
    /// installed, and what happened, for the sender; nil when it cannot be tried now (the node is stopping: the
    /// next offer tries again).
    func arrived(app: String, path: String, key: [UInt8], from peer: String) -> (ok: Bool, message: String)?
    /// Whether `app` from `peer` is installed here (an install a restart interrupted before its answer was kept).
    func installed(app: String, from peer: String) -> Bool
    /// Every byte of `transfer` has been sent (the receiver may be installing it: the move can no longer simply
    /// be cancelled).
    func allSent(_ transfer: OutgoingTransfer)
    /// The receiver of `transfer` answered: it installed the app (`ok`), or why not.
    func ended(_ transfer: OutgoingTransfer, ok: Bool, message: String)
    /// Whether this node's `app` may send to node `to` (its grants here): a peer's `appMoved` never sends an app's
    /// messages where the app may not send them.
    func maySend(app: String, to node: String) -> Bool
    /// `peer` says `app` moved from it to node `to`; `retargeted` messages now wait for `to`.
    func peerAppMoved(app: String, from peer: String, to: String, retargeted: Int)
}
