import Synchronization

/// One person's live stream of one app's client notices: a bounded queue between the node's threads, which offer
/// notices, and the gateway's writer, which awaits them. A client that falls behind by more than the queue holds is
/// cut off (`End.tooSlow`), never buffered without bound; it reconnects and catches up from the app's history.
public final class ClientStream: Sendable {
    /// Why a stream ended.
    public enum End: String, Sendable {
        /// The client fell behind by more than `[gateway] stream_queue_kb` (or 256 notices).
        case tooSlow = "too_slow"
        /// The app was stopped, disabled or restarted.
        case appStopped = "app_stopped"
        /// The node is shutting down.
        case nodeStopping = "node_stopping"
        /// The client went away (or its writer was cancelled).
        case closed
    }

    /// What the writer sends next.
    public enum Item: Sendable, Equatable {
        case notice([UInt8])
        /// Nothing was said for `[gateway] stream_ping_s`: a comment line.
        case ping
        case end(End)
    }

    public let app: String
    public let person: [UInt8]
    /// The client address it was opened from (`max_streams_per_client`).
    let client: String
    let id: UInt64
    /// Most notices and payload bytes waiting; past either the stream ends `tooSlow`.
    static let maxItems = 256
    let maxBytes: Int

    private struct State {
        var items: [Item] = []
        /// Always 0 (the writer takes everything at once); kept so the count is `items.count - head`.
        var head = 0
        var bytes = 0
        var end: End?
        var waiter: CheckedContinuation<[Item], Never>?
        var endWaiters: [CheckedContinuation<End, Never>] = []
    }

    private let state = Mutex(State())

    init(id: UInt64, app: String, person: [UInt8], client: String, maxBytes: Int) {
        self.id = id
        self.client = client
        self.app = app
        self.person = person
        self.maxBytes = maxBytes
    }

    /// Queues a notice (or a ping); false when the stream has ended, now because it is full or before.
    @discardableResult
    public func offer(_ item: Item) -> Bool {
        // What it takes on the wire: each line break of the payload becomes "\ndata: ".
        let size = if case .notice(let payload) = item { payload.count + 8 * payload.count(where: { $0 == 10 || $0 == 13 }) + 16 } else { 0 }
        var woken: (CheckedContinuation<[Item], Never>, Item)?
        var ended: [CheckedContinuation<End, Never>] = []
        let accepted = state.withLock { st -> Bool in
            guard st.end == nil else { return false }
            if let waiter = st.waiter {
                st.waiter = nil
                woken = (waiter, item)
                return true
            }
            guard st.items.count - st.head < Self.maxItems, st.bytes + size <= maxBytes else {
                ended = Self.end(&st, .tooSlow)
                return false
            }
            st.items.append(item)
            st.bytes += size
            return true
        }
        if let (waiter, item) = woken { waiter.resume(returning: [item]) }
        for waiter in ended { waiter.resume(returning: .tooSlow) }
        return accepted
    }

    /// Ends the stream (a no-op once ended): what waits is dropped, and the writer's next item is the end.
    public func finish(_ why: End) {
        var woken: CheckedContinuation<[Item], Never>?
        let ended = state.withLock { st -> [CheckedContinuation<End, Never>] in
            guard st.end == nil else { return [] }
            woken = st.waiter
            st.waiter = nil
            return Self.end(&st, why)
        }
        woken?.resume(returning: [.end(why)])
        for waiter in ended { waiter.resume(returning: why) }
    }

    private static func end(_ st: inout State, _ why: End) -> [CheckedContinuation<End, Never>] {
        st.end = why
        st.items = []
        st.head = 0
        st.bytes = 0
        defer { st.endWaiters = [] }
        return st.endWaiters
    }

    /// Why the stream ended, if it has.
    public var ended: End? { state.withLock { $0.end } }

    /// Everything queued, in order, waiting for at least one item; `[.end]` once the stream has ended (or the task
    /// is cancelled). The writer sends what it gets in one write, so a burst costs one trip to the socket.
    public func next() async -> [Item] {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[Item], Never>) in
                let now: [Item]? = state.withLock { st in
                    if let end = st.end { return [.end(end)] }
                    if Task.isCancelled { return [.end(.closed)] }
                    guard st.head < st.items.count else {
                        // One writer per stream: a second waiter would never be resumed.
                        precondition(st.waiter == nil, "ClientStream.next() called by two tasks at once")
                        st.waiter = continuation
                        return nil
                    }
                    let items = Array(st.items[st.head...])
                    st.items.removeAll(keepingCapacity: true)
                    st.head = 0
                    st.bytes = 0
                    return items
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            finish(.closed)
        }
    }

    /// Waits until the stream ends (the writer races this, so a write stuck on a stalled client is abandoned).
    public func waitForEnd() async -> End {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<End, Never>) in
                let now: End? = state.withLock { st in
                    if let end = st.end { return end }
                    if Task.isCancelled { return .closed }
                    st.endWaiters.append(continuation)
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            finish(.closed)
        }
    }
}
