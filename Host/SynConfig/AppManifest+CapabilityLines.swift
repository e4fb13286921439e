extension AppManifest.Capabilities {
    /// What is requested, one `key = value` line per capability, in node.toml's grant syntax; empty when nothing is.
    public var lines: [String] {
        var out: [String] = []
        if identitySign { out.append("identity.sign = true") }
        if storageKV { out.append("storage.kv = true") }
        if storageSQL { out.append("storage.sql = true") }
        if timers { out.append("timers = true") }
        if let ids = netPeerIDs { out.append("net.peers = \(Self.list(ids))") } else if netPeers { out.append("net.peers = true") }
        for (key, items) in listed where !items.isEmpty { out.append("\(key) = \(Self.list(items))") }
        return out
    }

    /// What `self` requests that `granted` leaves out, key by key and item by item (e.g. `storage.sql`,
    /// `events.publish "orders.*"`); empty when everything requested is granted as written.
    public func notGranted(by granted: Self) -> [String] {
        var out: [String] = []
        if identitySign && !granted.identitySign { out.append("identity.sign") }
        if storageKV && !granted.storageKV { out.append("storage.kv") }
        if storageSQL && !granted.storageSQL { out.append("storage.sql") }
        if timers && !granted.timers { out.append("timers") }
        if netPeers {
            if !granted.netPeers { out.append("net.peers") } else if let ids = netPeerIDs, let allowed = granted.netPeerIDs {
                for id in ids where !allowed.contains(id) { out.append("net.peers \"\(id)\"") }
            }
        }
        let theirs = Dictionary(uniqueKeysWithValues: granted.listed.map { ($0.key, Set($0.items)) })
        for (key, items) in listed {
            for item in items where !(theirs[key]?.contains(item) ?? false) { out.append("\(key) \"\(item)\"") }
        }
        return out
    }

    private var listed: [(key: String, items: [String])] {
        [("net.fetch", netFetch), ("events.publish", eventsPublish), ("events.subscribe", eventsSubscribe),
         ("messages.publish", messagesPublish), ("messages.subscribe", messagesSubscribe), ("calls", calls)]
    }

    private static func list(_ items: [String]) -> String { "[" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
}
