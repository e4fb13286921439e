extension AppManifest {
    /// Capabilities the app requests; the node owner's grants decide what it gets.
    public struct Capabilities: Sendable, Equatable {
        /// `identity.sign`: sign with the app's own key.
        public var identitySign = false
        /// `storage.kv`: a private key-value store.
        public var storageKV = false
        /// `storage.sql`: a private SQL database.
        public var storageSQL = false
        /// `net.peers`: talk to peer nodes: `true` (any the owner added) or a list of node ids (those only).
        public var netPeers = false
        /// The node ids `net.peers` lists; nil when it is `true` or `false`.
        public var netPeerIDs: [String]?
        /// `timers`: schedule callbacks.
        public var timers = false
        /// `net.fetch`: https URL prefixes the app may fetch.
        public var netFetch: [String] = []
        /// `events.publish` / `events.subscribe`: topic patterns.
        public var eventsPublish: [String] = [], eventsSubscribe: [String] = []
        /// `messages.publish` / `messages.subscribe`: topic patterns.
        public var messagesPublish: [String] = [], messagesSubscribe: [String] = []
        /// `calls`: methods of other apps on this node it may call (ABI minor 1), as `app:method` or `app:prefix.*`.
        public var calls: [String] = []

        public init() {}
    }
}
