import FoundationEssentials
import PluginABI

/// Ephemeral messages (`msg_publish`): topics that apps on this node and on linked peers subscribe to
/// (`messages.publish` / `messages.subscribe`), and notices for one person's live streams of this app. Best-effort
/// and never stored.
public struct Topics: Sendable {
    let host: Host

    /// Publishes `payload` as JSON (at most 64 KiB) on `topic` (dot-separated `[a-z0-9_-]` segments) now, whether
    /// or not the call commits. Refused (`HostError`) past the grant or 500 a second.
    public func publish<T: Encodable>(_ topic: String, _ payload: T) throws {
        try send(Array(topic.utf8), Array(try JSONKeys.current.encoder.encode(payload)), "msg_publish")
    }

    /// Sends `payload` as JSON to `person`'s open streams of this app (`GET /v1/apps/{app}/stream`) once the call
    /// commits; a call that fails sends none, and a person with no stream open gets nothing. Needs
    /// `messages.publish = ["client.*"]`. At most 256 notices and 1 MiB a call.
    public func notify<T: Encodable>(_ person: CallerKey, _ payload: T) throws {
        try send(Array(("client." + person.hex).utf8), Array(try JSONKeys.current.encoder.encode(payload)), "msg_publish")
    }

    /// `notify` for several people at once, the payload encoded once; stops at the first refusal (past a call's
    /// limits), which it throws.
    public func notify<T: Encodable>(_ people: [CallerKey], _ payload: T) throws {
        guard !people.isEmpty else { return }
        let json = Array(try JSONKeys.current.encoder.encode(payload))
        for person in people { try send(Array(("client." + person.hex).utf8), json, "msg_publish") }
    }

    /// Whether anyone has a stream of this app open now (asked once a call): an app skips making notices no one
    /// would get. Needs the `client.*` grant (without it the answer is false, and the node audits a denial).
    public var anyoneListening: Bool {
        Host.withBuf(Array("client".utf8)) { t in Host.withBuf([]) { host.table.pointee.msg_publish(host.ctx, t, $0) } } == SYN_OK
    }

    func send(_ topic: [UInt8], _ payload: [UInt8], _ slot: String) throws(HostError) {
        let status = Host.withBuf(topic) { t in Host.withBuf(payload) { host.table.pointee.msg_publish(host.ctx, t, $0) } }
        try host.check(status, slot)
    }
}

extension Context {
    /// Ephemeral topics and client notices.
    public var topics: Topics { Topics(host: host) }
}
