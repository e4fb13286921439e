public import SynBroker
import SynConfig
import SynSandbox
import Synchronization

/// Ephemeral topics: `msg_publish` from this node's apps or a peer's reaches every local app whose granted
/// `messages.subscribe` covers the topic and that is running, best-effort and never stored.
extension NodeRuntime: TopicSubscribers {
    public func subscriptions() -> [(app: String, topic: String)] {
        let node = config
        var patterns: [(app: String, topic: String)] = []
        for (manifest, running) in state.withLock({ s in s.entries.values.map { ($0.manifest, $0.supervisor != nil && s.isEnabled($0.manifest.id)) } })
        where running {
            let policy = Policy(manifest: manifest, node: node)
            for pattern in manifest.capabilities.messagesSubscribe where policy.denial(.messagesSubscribe(topic: pattern)) == nil {
                patterns.append((manifest.id, pattern))
            }
        }
        return patterns
    }

    public func deliverPublished(topic: String, payload: [UInt8], app: String, from peer: String?) {
        let node = config
        let targets = state.withLock { s in
            s.entries.values.compactMap { e -> (AppManifest, AppSupervisor)? in
                guard let supervisor = e.supervisor, s.isEnabled(e.manifest.id), !e.manifest.capabilities.messagesSubscribe.isEmpty else { return nil }
                return (e.manifest, supervisor)
            }
        }
        for (manifest, supervisor) in targets where Policy(manifest: manifest, node: node).denial(.messagesSubscribe(topic: topic)) == nil {
            topics.offer(app: manifest.id, supervisor: supervisor, topic: topic, payload: payload)
        }
    }
}
