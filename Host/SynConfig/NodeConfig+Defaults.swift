extension NodeConfig {
    /// A node.toml granting each manifest exactly what it requests, under the profile it asks for.
    /// Used when a node starts without one; the node owner edits it from there.
    /// `owners` are base64url key ids allowed to use the admin API.
    public static func granting(_ manifests: [AppManifest], owners: [String] = []) -> String {
        var out = """
            # Syneroym node configuration, written on first start. Each app gets exactly what its manifest requests;
            # remove a grant to deny it (the app then gets SYN_E_DENIED naming the key), or set enabled = false.
            [node]
            name = "syneroym-node"
            # base64url ed25519 public keys (43 characters) allowed to use /v1/admin; `syneroym keys show` prints yours.
            owners = \(list(owners))
            reserve_mb = 128               # below this much free disk space, app calls get 507; audit and admin go on

            [gateway]
            listen = "127.0.0.1:7420"      # host:port of the HTTP gateway
            max_body_kb = 1024             # larger request bodies get 413
            request_timeout_ms = 30000     # no answer from the app by then: 504
            retry_after_s = 1              # Retry-After sent with 503 when an app's queue is full
            names = []                     # names this node answers to besides listen (e.g. "guild.example"); signed requests must name one
            signature_window_s = 300       # how old a signature's `created` may be
            signature_future_s = 30        # how far ahead of this node's clock a signature's `created` may be
            replay_cache_entries = 100000  # nonces and signatures remembered against replay (1% of them per client address)
            max_connections_per_client = 256 # connections one client address may hold open
            drain_timeout_s = 10           # on SIGTERM/SIGINT, how long calls in flight may finish
            idle_timeout_s = 60            # a connection quiet this long with no request in progress is closed
            max_streams = 256              # live streams (GET /v1/apps/{app}/stream) open at once; 0: none
            max_streams_per_person = 4     # live streams one person may hold open per app
            max_streams_per_client = 16    # live streams one client address may hold open
            stream_queue_kb = 256          # notices waiting for one stream's client, at most; a client further behind is cut off
            stream_ping_s = 15             # a quiet stream sends a comment line this often

            [events]
            retention_days = 7             # events older than this are deleted, delivered or not
            max_events = 1000000           # past this many, the oldest go first

            """
        for m in manifests.sorted(by: { $0.id < $1.id }) { out += "\n" + section(granting: m) }
        return out
    }

    /// The `[apps.<id>]` section of node.toml for `m`, granting exactly what it requests, under the profile it asks
    /// for, with the default quotas.
    public static func section(granting m: AppManifest) -> String { section(for: m, granting: m.capabilities) }

    /// `m`'s node.toml section granting `c` (nothing at all for `Capabilities()`), enabled or not.
    public static func section(for m: AppManifest, granting c: AppManifest.Capabilities, enabled: Bool = true) -> String {
        var out = "[apps.\(m.id)]\nenabled = \(enabled)\nprofile = \"\(m.profile)\"\nstorage_quota_mb = 64\n"
        out += "events_quota_mb = 64\ntimers_quota_mb = 8\nlog_lines_per_s = 100\n"
        out += "[apps.\(m.id).grants]\n"
        out += "identity.sign = \(c.identitySign)\nstorage.kv = \(c.storageKV)\nstorage.sql = \(c.storageSQL)\n"
        out += "timers = \(c.timers)\nnet.peers = \(c.netPeerIDs.map(list) ?? String(c.netPeers))\n"
        out += "net.fetch = \(list(c.netFetch))\n"
        out += "events.publish = \(list(c.eventsPublish))\nevents.subscribe = \(list(c.eventsSubscribe))\n"
        out += "messages.publish = \(list(c.messagesPublish))\nmessages.subscribe = \(list(c.messagesSubscribe))\n"
        out += "calls = \(list(c.calls))\n"
        return out
    }

    /// A TOML array of basic strings, each escaped: a manifest's URL may hold `"` or `\\`, and must stay one entry.
    private static func list(_ items: [String]) -> String {
        "[" + items.map { item in
            var out = "\""
            for c in item {
                if c == "\\" || c == "\"" { out.append("\\") }
                out.append(c)
            }
            return out + "\""
        }.joined(separator: ", ") + "]"
    }
}
