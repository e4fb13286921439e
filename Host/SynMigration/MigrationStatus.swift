/// Where one app's migration stands, as `apps migrate` shows it.
public struct MigrationStatus: Sendable, Equatable {
    public enum Phase: String, Sendable {
        /// The app is stopped here and its bundle is being written.
        case exporting
        /// Its bundle is on its way (or waiting for a link to the peer).
        case sending
        /// The peer has all of it and is checking and installing it.
        case installing
        /// The peer installed it; this node answers 410 `app_moved` naming the peer.
        case moved
        /// The peer did not take it, or it was cancelled; the app serves here again.
        case failed
    }

    public let app: String
    public let to: String
    public let phase: Phase
    /// Bytes the peer holds, of `size`.
    public let sent: UInt64
    public let size: UInt64
    /// Where the peer went on from on the latest link (above 0: an interrupted transfer resumed).
    public let resumedAt: UInt64
    /// The peer's answer, or why it failed.
    public let message: String?

    public var isFinal: Bool { phase == .moved || phase == .failed }
}
