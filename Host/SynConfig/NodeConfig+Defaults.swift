extension NodeConfig {
    /// A node.toml granting each manifest exactly what it requests, under the profile it asks for.
    /// Used when a node starts without one; the node owner edits it from there.
    public static func granting(_ manifests: [AppManifest]) -> String {
        var out = """
            # Syneroym node configuration, written on first start. Each app gets exactly what its manifest requests;
            # remove a grant to deny it (the app then gets SYN_E_DENIED naming the key), or set enabled = false.
            [node]
            name = "syneroym-node"
            owners = []

            """
        for m in manifests.sorted(by: { $0.id < $1.id }) {
            let c = m.capabilities
            out += "\n[apps.\(m.id)]\nenabled = true\nprofile = \"\(m.profile)\"\nstorage_quota_mb = 64\n"
            out += "[apps.\(m.id).grants]\n"
            out += "identity.sign = \(c.identitySign)\nstorage.kv = \(c.storageKV)\nstorage.sql = \(c.storageSQL)\n"
            out += "timers = \(c.timers)\nnet.peers = \(c.netPeers)\n"
            out += "net.fetch = \(list(c.netFetch))\n"
            out += "events.publish = \(list(c.eventsPublish))\nevents.subscribe = \(list(c.eventsSubscribe))\n"
            out += "messages.publish = \(list(c.messagesPublish))\nmessages.subscribe = \(list(c.messagesSubscribe))\n"
        }
        return out
    }

    private static func list(_ items: [String]) -> String {
        "[" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
    }
}
