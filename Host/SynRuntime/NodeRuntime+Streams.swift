import SynConfig
import SynWire
import Synchronization

/// Live streams of client notices (`GET /v1/apps/{app}/stream`): what an app publishes on `client.<person>` after
/// a call commits reaches that person's open streams of the app, and nothing else.
extension NodeRuntime {
    /// Why a stream was not opened: the app is unknown, not granted client notices, or not running; the node's or
    /// the person's stream limit.
    public enum StreamRefusal: Error, Sendable {
        case unknownApp(String)
        case notGranted(String)
        case notRunning(String)
        case limit(ClientStreams.Refusal)
    }

    /// Opens `person`'s stream of `app`'s notices, from client address `client` (`AuthorityList.clientKey`).
    public func openStream(app: String, person: [UInt8], client: String) throws(StreamRefusal) -> ClientStream {
        let checked: Result<GatewaySettings, StreamRefusal> = state.withLock { s in
            guard let entry = s.entries[app] else { return .failure(.unknownApp(app)) }
            let probe = ClientNotices.prefix + String(repeating: "0", count: 64)
            if let denial = Policy(manifest: entry.manifest, node: s.node).denial(.messagesPublish(topic: probe)) {
                return .failure(.notGranted("app '\(app)' sends no client notices: \(denial)"))
            }
            guard !s.stopped else { return .failure(.notRunning("the node is shutting down")) }
            guard s.isEnabled(app), entry.supervisor != nil else {
                return .failure(.notRunning("app '\(app)' is not running" + (s.isEnabled(app) ? "" : " (node.toml apps.\(app).enabled = false)")))
            }
            return .success(s.node.gateway)
        }
        let gateway = try checked.get()
        do {
            return try streams.open(app: app, person: person, client: client,
                                    settings: (gateway.maxStreams, gateway.maxStreamsPerPerson, gateway.maxStreamsPerClient,
                                               gateway.streamQueueKB * 1024))
        } catch { throw .limit(error) }
    }

    /// Forgets a stream whose writer finished.
    public func closeStream(_ stream: ClientStream) { streams.close(stream) }
}
