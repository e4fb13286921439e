import SynAppStore
import SynConfig
import SynSodium
import SynSystem
import SynWire
import Synchronization

/// Client notices: `msg_publish` on `client.<person>`, for that person's open streams of the app (the gateway's
/// `GET /v1/apps/{app}/stream`). Checked here whether the worker queued them for the commit or forwarded one.
extension Broker {
    /// Client notices one app may hand over a second (bursts of twice that); past it a hand-over is refused
    /// (`SYN_E_QUOTA`): the worker's own per-call bounds are the app's to keep, this one is the node's.
    static let maxNoticesPerSecond = 10_000

    /// Spends `count` of the app's notice budget, or throws.
    func chargeNotices(_ app: String, _ count: Int) throws(BrokerFailure) {
        let admitted: Bool = state.withLock { st in
            let now = MonotonicClock.nowNs(), rate = Double(Self.maxNoticesPerSecond)
            return st.noticeBudget[app, default: TokenBucket(burst: rate * 2, nowNs: now)]
                .take(Double(count), perSecond: rate, burst: rate * 2, nowNs: now)
        }
        guard admitted else {
            throw BrokerFailure(SynStatus.quota, "msg_publish: app '\(app)' sends at most \(Self.maxNoticesPerSecond) client notices a second")
        }
    }

    /// One notice checked: the grant (`messages.publish` covering `client.*`), the topic (`client.` then the
    /// person's ed25519 public key as 64 lowercase hex digits) and the payload (UTF-8 text of at most 64 KiB,
    /// which a stream carries as lines). Returns the person's key and the payload.
    func clientNotice(_ app: AppState, _ topicBytes: [UInt8], _ payload: [UInt8], _ op: HostOp)
        throws(BrokerFailure) -> (person: [UInt8], payload: [UInt8])
    {
        let hexDigits = topicBytes.dropFirst(ClientNotices.prefix.utf8.count)
        guard ClientNotices.isClientTopic(topicBytes), hexDigits.count == 64,
              hexDigits.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
              let person = Hex.decode(String(decoding: hexDigits, as: UTF8.self)), person.count == 32
        else {
            throw BrokerFailure(SynStatus.badArg, "msg_publish: a client notice's topic is \"client.\" then the person's public key as 64 lowercase hex digits")
        }
        try require(app, .messagesPublish(topic: String(decoding: topicBytes, as: UTF8.self)), op)
        guard payload.count <= Self.maxNetPayload else {
            throw BrokerFailure(SynStatus.tooLarge, "msg_publish: the payload is at most 64 KiB")
        }
        guard String(validating: payload, as: UTF8.self) != nil else {
            throw BrokerFailure(SynStatus.badArg, "msg_publish: a client notice's payload is UTF-8 text (a stream carries it as lines)")
        }
        return (person, payload)
    }
}
