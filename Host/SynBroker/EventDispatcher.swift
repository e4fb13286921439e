public import SynConfig
public import SynSandbox
import SynWire
import Dispatch
import Synchronization
import SynSystem
#if canImport(Glibc)
import Glibc
#endif

/// Delivers committed domain events and due timers to apps' `on_event`, at least once.
///
/// Each attached app has its own thread and a durable cursor in `node.db`, advanced only after the app's
/// `on_event` returns SYN_OK; a failed delivery is retried with backoff. A slow or dead subscriber delays only
/// itself: emitters just append to the log. The event id is the `token`, for de-duplication.
public final class EventDispatcher: Sendable {
    private let store: EventStore
    private let state = Mutex(State())
    static let maxBackoffNs: Int64 = 30_000_000_000
    /// How long a delivery thread sleeps with nothing due, and how often an app's outbox is flushed.
    let idleNs: Int64
    /// Delivery rounds of every thread so far: a thread with nothing to do sleeps, so this grows slowly when idle.
    private let rounds = Atomic<Int>(0)

    private struct State {
        var stopped = false
        /// Apps attached with event subscriptions: whose cursors the retention policy counts as undelivered.
        var subscriberIDs: [String] = []
        /// Each attached app's delivery thread.
        var threads: [String: Thread] = [:]
    }

    public init(store: EventStore, idleNs: Int64 = 30_000_000_000) {
        self.store = store
        self.idleNs = idleNs
    }

    /// Delivery rounds of every thread so far.
    public var deliveryRounds: Int { rounds.load(ordering: .relaxed) }

    /// The attached apps that subscribe to events.
    public var subscribers: [String] { state.withLock { $0.subscriberIDs } }

    /// Starts delivering to `supervisor`'s app what `policy` lets it subscribe to, and its timers. Attaching an app
    /// again (its grants or profile were re-read) retires its previous thread: delivery resumes from the app's
    /// durable cursor, at least once as always.
    public func attach(app: String, policy: Policy, supervisor: AppSupervisor) {
        let thread = Thread(dispatcher: self, app: app, policy: policy, supervisor: supervisor)
        let previous: Thread? = state.withLock { s in
            let subscribes = !policy.requested.eventsSubscribe.isEmpty
            if subscribes && !s.subscriberIDs.contains(app) { s.subscriberIDs.append(app) }
            if !subscribes { s.subscriberIDs.removeAll { $0 == app } }
            defer { s.threads[app] = thread }
            return s.threads[app]
        }
        previous?.retire()
        if !policy.requested.eventsSubscribe.isEmpty { store.noteSubscriber(app) }
        guard OSThread.start(name: "\(app)-events", { thread.run() }) else {
            // No thread to be had (RLIMIT_NPROC, memory): delivery to this app waits for its next restart, and its
            // events and timers wait in node.db.
            state.withLock { s in if s.threads[app] === thread { s.threads[app] = nil } }
            return
        }
    }

    /// Wakes every app's thread (new events or timers were committed).
    public func notify() { for t in state.withLock({ $0.threads.values }) { t.wake() } }

    /// Stops delivering.
    public func stop() {
        state.withLock { $0.stopped = true }
        notify()
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// How long a delivery thread sleeps unless woken: until its app's outbox flush is due (apps with a database;
    /// nil for the others), its next timer is due, or a failed delivery is retried, and at most `idleNs`; never
    /// negative. Timers are due in wall time (they survive restarts), so their wait is measured from the wall clock.
    static func sleepNs(untilFlush: Int64?, untilTimer: Int64?, backoff: Int64?, idleNs: Int64) -> Int64 {
        max(0, [idleNs, untilFlush, untilTimer, backoff].compactMap { $0 }.min() ?? idleNs)
    }

    /// One app's delivery thread. Only that thread touches its backoff and flush time.
    private final class Thread: @unchecked Sendable {
        let dispatcher: EventDispatcher
        let app: String
        let policy: Policy
        let supervisor: AppSupervisor
        /// Whether the thread was woken since it last looked.
        private let wakeup = Monitor(false)
        var backoffNs: Int64 = 0
        /// Set when the app is attached again: this thread then ends.
        private let retired = Synchronization.Atomic<Bool>(false)

        func retire() {
            retired.store(true, ordering: .releasing)
            wake()
        }

        func wake() { wakeup.update { $0 = true } }

        var isRetired: Bool { retired.load(ordering: .acquiring) }

        init(dispatcher: EventDispatcher, app: String, policy: Policy, supervisor: AppSupervisor) {
            self.dispatcher = dispatcher
            self.app = app
            self.policy = policy
            self.supervisor = supervisor
        }

        /// When the app's outbox is next flushed (apps with a database only), `MonotonicClock`.
        lazy var nextFlushNs = MonotonicClock.nowNs() + dispatcher.idleNs

        func run() {
            while !dispatcher.isStopped && !isRetired {
                flushOutboxIfDue()
                var nextTimerNs: Int64?
                let delivered = deliverEvents() && deliverTimers(&nextTimerNs)
                backoffNs = delivered ? 0 : min(max(backoffNs * 2, 100_000_000), EventDispatcher.maxBackoffNs)
                let now = MonotonicClock.nowNs()
                let sleep = EventDispatcher.sleepNs(untilFlush: policy.hasDatabase ? nextFlushNs - now : nil,
                                                    untilTimer: nextTimerNs.map { $0 - WallClock.nowNs() },
                                                    backoff: delivered ? nil : backoffNs, idleNs: dispatcher.idleNs)
                dispatcher.rounds.add(1, ordering: .relaxed)
                wakeup.wait(untilMonotonicNs: now + sleep) { woken in
                    defer { woken = false }
                    return woken
                }
            }
        }

        /// Every `idleNs`, asks the app's worker to hand over outbox rows earlier calls left behind, so they never
        /// wait for the app's next call. Not awaited: a busy app takes it in turn.
        private func flushOutboxIfDue() {
            guard policy.hasDatabase, MonotonicClock.nowNs() >= nextFlushNs else { return }
            nextFlushNs = MonotonicClock.nowNs() + dispatcher.idleNs
            supervisor.submitEvent(kind: OutboxBatch.flushEventKind, topic: [], payload: [], token: 0) { _ in }
        }

        /// Delivers pending events in order; false when one failed (it will be retried).
        private func deliverEvents() -> Bool {
            guard !policy.requested.eventsSubscribe.isEmpty else { return true }
            while !dispatcher.isStopped && !isRetired {
                let batch = dispatcher.store.pending(for: app)
                if batch.isEmpty { return true }
                for event in batch {
                    if policy.denial(.eventsSubscribe(type: event.type)) == nil {
                        guard deliver(kind: 1, topic: Array(event.type.utf8), payload: event.payload, token: UInt64(event.id))
                        else { return false }
                    }
                    dispatcher.store.advance(app, to: event.id)
                }
            }
            return true
        }

        /// Delivers due timers; sets `nextNs` to the next one's due time (wall clock). False when one failed.
        private func deliverTimers(_ nextNs: inout Int64?) -> Bool {
            let (due, next) = dispatcher.store.timers(for: app, dueBy: WallClock.nowNs())
            nextNs = next
            for timer in due {
                guard deliver(kind: 2, topic: [], payload: timer.payload, token: UInt64(timer.token)) else { return false }
                dispatcher.store.deleteTimer(timer.token)
            }
            return true
        }

        private func deliver(kind: UInt32, topic: [UInt8], payload: [UInt8], token: UInt64) -> Bool {
            // The answer, once it comes: nil while the call runs.
            let outcome = Monitor<Bool?>(nil)
            supervisor.submitEvent(kind: kind, topic: topic, payload: payload, token: token) { result in
                let ok = if case .success(let reply) = result { reply.status == 0 } else { false }
                outcome.update { $0 = ok }
            }
            var ok = false
            outcome.wait(untilMonotonicNs: .max) { answer in
                ok = answer ?? false
                return answer != nil
            }
            return ok
        }
    }
}
