import NIOCore
import SynConfig
import SynBroker
import SynLink
import Synchronization

/// Ephemeral topics across links: each side tells the other which topics its apps subscribe to, and a
/// publication goes only to the links whose peer subscribed to its topic, only while that link takes writes. Nothing
/// is queued or stored: a slow or cut link loses publications.
extension LinkService {
    /// Topic patterns one peer may subscribe to on a link; past it the link closes.
    static let maxRemoteTopics = 256

    /// Sends app `app`'s publication on `topic` to every peer that subscribed to it.
    public func publish(app: String, topic: String, payload: [UInt8]) {
        let channels = state.withLock { s in
            s.remoteTopics.compactMap { peer, patterns in
                patterns.contains { Policy.topicMatches($0, topic) } ? s.links[peer]?.channel : nil
            }
        }
        for channel in channels where channel.isWritable {
            channel.writeAndFlush(LinkFrame.publish(app: app, topic: topic, payload: payload), promise: nil)
        }
    }

    /// The peer's apps subscribe to `topic` (or stop); false when it asked for more than `maxRemoteTopics`.
    func subscribe(_ peer: String, topic: String, on: Bool) -> Bool {
        state.withLock { s in
            guard on else {
                s.remoteTopics[peer]?.remove(topic)
                return true
            }
            var topics = s.remoteTopics[peer] ?? []
            guard topics.count < Self.maxRemoteTopics || topics.contains(topic) else { return false }
            topics.insert(topic)
            s.remoteTopics[peer] = topics
            return true
        }
    }

    /// This node's apps changed: each link tells its peer the topics subscribed to now.
    public func refreshSubscriptions() {
        let channels = state.withLock { s in s.links.values.map(\.channel) }
        for channel in channels { channel.pipeline.fireUserInboundEventTriggered(LinkHandler.Resubscribe()) }
    }

    /// The subscriptions to send a peer when its link comes up.
    func localSubscriptions() -> [(app: String, topic: String)] { topics?.subscriptions() ?? [] }
}
