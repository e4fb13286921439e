/// An app's effective capabilities: what its manifest requests intersected with what `node.toml` grants.
/// Every check either allows or says exactly which manifest or `node.toml` key would grant it.
public struct Policy: Sendable, Equatable {
    /// A capability a host call needs.
    public enum Capability: Sendable, Equatable {
        case identitySign, storageKV, storageSQL, netPeers, timers
        /// `net.peers` for one peer node: granted for any, or listed.
        case netPeer(String)
        case netFetch(url: String)
        case eventsPublish(type: String), eventsSubscribe(type: String)
        case messagesPublish(topic: String), messagesSubscribe(topic: String)
        /// `calls`: method `method` of app `app` on this node.
        case call(app: String, method: String)
    }

    public let appID: String
    public let requested: AppManifest.Capabilities
    public let granted: AppManifest.Capabilities
    /// Where to change a request and a grant, for the messages.
    public let manifestPath: String
    public let nodePath: String

    public init(manifest: AppManifest, node: NodeConfig) {
        appID = manifest.id
        requested = manifest.capabilities
        granted = node.apps[manifest.id]?.grants ?? AppManifest.Capabilities()
        manifestPath = manifest.path ?? "the app's manifest"
        nodePath = node.path ?? "node.toml"
    }

    /// Nil when allowed; otherwise why not, naming the key that would grant it.
    /// Whether the app gets a database of its own: it may use storage, set timers, publish events or send to peers
    /// (which wait in its database's outbox; messages from peers are recorded there as applied).
    public var hasDatabase: Bool {
        denial(.storageKV) == nil || denial(.storageSQL) == nil || denial(.timers) == nil || denial(.netPeers) == nil
            || (!requested.eventsPublish.isEmpty && !granted.eventsPublish.isEmpty)
    }

    public func denial(_ capability: Capability) -> String? {
        switch capability {
        case .identitySign: flag("identity.sign", requested.identitySign, granted.identitySign)
        case .storageKV: flag("storage.kv", requested.storageKV, granted.storageKV)
        case .storageSQL: flag("storage.sql", requested.storageSQL, granted.storageSQL)
        case .netPeers: flag("net.peers", requested.netPeers, granted.netPeers)
        case .netPeer(let id): peerDenial(id)
        case .timers: flag("timers", requested.timers, granted.timers)
        case .netFetch(let url):
            list("net.fetch", "URL", url, requested.netFetch, granted.netFetch, matches: Self.urlMatches)
        case .eventsPublish(let type):
            list("events.publish", "event type", type, requested.eventsPublish, granted.eventsPublish, matches: Self.topicMatches)
        case .eventsSubscribe(let type):
            list("events.subscribe", "event type", type, requested.eventsSubscribe, granted.eventsSubscribe, matches: Self.topicMatches)
        case .messagesPublish(let topic):
            list("messages.publish", "topic", topic, requested.messagesPublish, granted.messagesPublish, matches: Self.topicMatches)
        case .messagesSubscribe(let topic):
            list("messages.subscribe", "topic", topic, requested.messagesSubscribe, granted.messagesSubscribe, matches: Self.topicMatches)
        case .call(let app, let method):
            list("calls", "method", app + ":" + method, requested.calls, granted.calls, matches: Self.callMatches)
        }
    }

    /// `app:method` matches only itself; `app:prefix.*` every method of `app` under `prefix.`; `app:*` all of them.
    public static func callMatches(_ pattern: String, _ call: String) -> Bool {
        guard let colon = pattern.firstIndex(of: ":"), let callColon = call.firstIndex(of: ":"),
              pattern[..<colon] == call[..<callColon] else { return false }
        let method = String(call[call.index(after: callColon)...]), want = String(pattern[pattern.index(after: colon)...])
        if want == "*" { return !method.isEmpty }
        if want.hasSuffix(".*") { return method.hasPrefix(want.dropLast()) && method.count > want.count - 1 }
        return want == method
    }

    /// Nil for a well-formed `calls` entry: an app id, a colon, and a method name, `prefix.*` or `*`.
    public static func callPatternProblem(_ entry: String) -> String? {
        let parts = entry.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return "expected \"app:method\", such as \"homeservices:quotes.accept\"" }
        guard NameRules.isAppID(parts[0]) else { return "\"\(parts[0])\" is not an app id ([a-z][a-z0-9_-]{0,62})" }
        let method = parts[1]
        if method == "*" { return nil }
        let name = method.hasSuffix(".*") ? String(method.dropLast(2)) : method
        guard NameRules.isMethodName(name) else {
            return "\"\(method)\" is not a method name ([a-z][a-z0-9_.-]*), a prefix ending in \".*\", or \"*\""
        }
        return nil
    }

    /// `net.peers` for node `id`: `true` on both sides, or a list that names it.
    private func peerDenial(_ id: String) -> String? {
        if let denial = flag("net.peers", requested.netPeers, granted.netPeers) { return denial }
        if let ids = requested.netPeerIDs, !ids.contains(id) {
            return "net.peers of app '\(appID)' does not list node \(id): add it under [capabilities] in \(manifestPath)"
        }
        if let ids = granted.netPeerIDs, !ids.contains(id) {
            return "net.peers does not grant node \(id) to app '\(appID)': add it under [apps.\(appID).grants] in \(nodePath)"
        }
        return nil
    }

    private func flag(_ key: String, _ asked: Bool, _ given: Bool) -> String? {
        if !asked {
            return "\(key) is not requested by app '\(appID)': add `\(key) = true` under [capabilities] in \(manifestPath)"
        }
        if !given {
            return "\(key) is not granted to app '\(appID)': set `\(key) = true` under [apps.\(appID).grants] in \(nodePath)"
        }
        return nil
    }

    private func list(_ key: String, _ what: String, _ value: String, _ asked: [String], _ given: [String],
                      matches: (String, String) -> Bool) -> String? {
        if !asked.contains(where: { matches($0, value) }) {
            return "\(what) '\(value)' is not covered by \(key) of app '\(appID)': add a matching entry to \(key) under [capabilities] in \(manifestPath)"
        }
        if !given.contains(where: { matches($0, value) }) {
            return "\(what) '\(value)' is not granted to app '\(appID)': add a matching entry to \(key) under [apps.\(appID).grants] in \(nodePath)"
        }
        return nil
    }

    /// `a.b.*` matches `a.b.c` and `a.b.c.d`; any other pattern matches only itself.
    public static func topicMatches(_ pattern: String, _ topic: String) -> Bool {
        if pattern.hasSuffix(".*") { return topic.hasPrefix(pattern.dropLast()) && topic.count > pattern.count - 1 }
        if pattern == "*" { return !topic.isEmpty }
        return pattern == topic
    }

    /// Whether the granted `net.fetch` prefixes that cover `url` name its host as an address (an IP literal, such as
    /// "https://10.0.0.5:8443/"): the owner then allows that address even if it is loopback or private. A name never
    /// does: it could resolve anywhere.
    public func namesAddress(of url: String) -> Bool {
        guard let host = FetchURL(url)?.host, FetchURL.isAddress(host) else { return false }
        let covering = { (prefixes: [String]) in
            prefixes.contains { Self.urlMatches($0, url) && FetchURL($0)?.host == host }
        }
        return covering(requested.netFetch) && covering(granted.netFetch)
    }

    /// A URL is covered by a prefix on a path boundary: `https://api.example.org` covers
    /// `https://api.example.org/v1/x` but not `https://api.example.org.evil.net`.
    public static func urlMatches(_ prefix: String, _ url: String) -> Bool {
        guard url.hasPrefix(prefix) else { return false }
        if url.count == prefix.count || prefix.hasSuffix("/") { return true }
        let next = url[url.index(url.startIndex, offsetBy: prefix.count)]
        return next == "/" || next == "?"
    }
}
