import Synchronization

/// The node's open client streams, by app and person: `open` registers one within `[gateway] max_streams` and
/// `max_streams_per_person`, `deliver` hands each committed client notice to the person's streams of that app, and
/// a stopped app's or a stopping node's streams end.
public final class ClientStreams: Sendable {
    /// Why a stream was not opened.
    public struct Refusal: Error, Sendable {
        public enum Code: String, Sendable { case full = "streams_full", tooMany = "too_many_streams" }
        public let code: Code
        public let message: String
    }

    private struct Key: Hashable {
        let app: String
        let person: [UInt8]
    }

    private struct State {
        var streams: [Key: [ClientStream]] = [:]
        /// Open streams by client address.
        var perClient: [String: Int] = [:]
        var count = 0
        var nextID: UInt64 = 1
        var stopping = false
        var opened = 0
        var dropped = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Opens a stream of `app`'s notices for `person` (a raw ed25519 public key).
    func open(app: String, person: [UInt8], client: String,
              settings: (total: Int, perPerson: Int, perClient: Int, queueBytes: Int)) throws(Refusal) -> ClientStream {
        let key = Key(app: app, person: person)
        let result: Result<ClientStream, Refusal> = state.withLock { st in
            guard !st.stopping, st.count < settings.total else {
                return .failure(Refusal(code: .full, message: settings.total == 0
                    ? "this node serves no streams (node.toml [gateway] max_streams = 0)"
                    : "the node has \(settings.total) streams open, its limit (node.toml [gateway] max_streams); try again later"))
            }
            guard st.perClient[client, default: 0] < settings.perClient else {
                return .failure(Refusal(code: .tooMany, message: "your address has \(settings.perClient) streams open, the limit "
                    + "(node.toml [gateway] max_streams_per_client); close one first"))
            }
            let mine = st.streams[key, default: []]
            guard mine.count < settings.perPerson else {
                return .failure(Refusal(code: .tooMany, message: "you have \(mine.count) streams of app '\(app)' open, the limit "
                    + "(node.toml [gateway] max_streams_per_person); close one first"))
            }
            let stream = ClientStream(id: st.nextID, app: app, person: person, client: client, maxBytes: settings.queueBytes)
            st.nextID += 1
            st.streams[key, default: []].append(stream)
            st.count += 1
            st.perClient[client, default: 0] += 1
            st.opened += 1
            return .success(stream)
        }
        return try result.get()
    }

    /// Forgets a stream whose writer has finished (it is ended first, if it had not).
    func close(_ stream: ClientStream) {
        stream.finish(.closed)
        state.withLock { st in
            let key = Key(app: stream.app, person: stream.person)
            guard var list = st.streams[key], let index = list.firstIndex(where: { $0.id == stream.id }) else { return }
            list.remove(at: index)
            st.streams[key] = list.isEmpty ? nil : list
            st.count -= 1
            st.perClient[stream.client, default: 1] -= 1
            if st.perClient[stream.client] == 0 { st.perClient[stream.client] = nil }
            if stream.ended == .tooSlow { st.dropped += 1 }
        }
    }

    /// Hands `app`'s notices to the streams of the people they name; a stream that cannot take one more ends.
    func deliver(app: String, _ notices: [(person: [UInt8], payload: [UInt8])]) {
        let targets: [(ClientStream, [UInt8])] = state.withLock { st in
            guard st.count > 0 else { return [] }
            var out: [(ClientStream, [UInt8])] = []
            for notice in notices {
                for stream in st.streams[Key(app: app, person: notice.person)] ?? [] { out.append((stream, notice.payload)) }
            }
            return out
        }
        for (stream, payload) in targets { stream.offer(.notice(payload)) }
    }

    /// The people with a stream of `app` open (each once).
    func people(app: String) -> [[UInt8]] {
        state.withLock { st in
            guard st.count > 0 else { return [] }
            return st.streams.keys.filter { $0.app == app }.map(\.person)
        }
    }

    /// Ends every stream of `app` (nil: every stream, and no more open: the node is stopping).
    func finishAll(app: String?, _ why: ClientStream.End) {
        let streams: [ClientStream] = state.withLock { st in
            if app == nil { st.stopping = true }
            return st.streams.filter { app == nil || $0.key.app == app }.values.flatMap { $0 }
        }
        for stream in streams { stream.finish(why) }
    }

    /// Streams open now, opened since the start, and cut off for falling behind.
    public var counts: (open: Int, opened: Int, dropped: Int) { state.withLock { ($0.count, $0.opened, $0.dropped) } }
}
