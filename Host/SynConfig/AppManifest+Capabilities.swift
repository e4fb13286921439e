extension AppManifest {
    /// Capabilities the app requests; the node owner's grants decide what it gets.
    public struct Capabilities: Sendable, Equatable {
        /// `identity.sign`: sign with the app's own key.
        public var identitySign = false
        /// `storage.kv`: a private key-value store.
        public var storageKV = false
        /// `storage.sql`: a private SQL database.
        public var storageSQL = false
        /// `net.peers`: talk to peer nodes.
        public var netPeers = false
        /// `timers`: schedule callbacks.
        public var timers = false
        /// `net.fetch`: https URL prefixes the app may fetch.
        public var netFetch: [String] = []
        /// `events.publish` / `events.subscribe`: topic patterns.
        public var eventsPublish: [String] = [], eventsSubscribe: [String] = []
        /// `messages.publish` / `messages.subscribe`: topic patterns.
        public var messagesPublish: [String] = [], messagesSubscribe: [String] = []

        public init() {}
    }
}
