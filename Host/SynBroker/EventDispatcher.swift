public import SynConfig
public import SynSandbox
import SynWire
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Delivers committed domain events and due timers to apps' `on_event`, at least once.
///
/// Each attached app has its own thread and a durable cursor in `node.db`, advanced only after the app's
/// `on_event` returns SYN_OK; a failed delivery is retried with backoff. A slow or dead subscriber delays only
/// itself: emitters just append to the log. The event id is the `token`, for de-duplication.
public final class EventDispatcher: @unchecked Sendable {
    private let store: EventStore
    private let lock = Mutex()
    private var stopped = false
    private var wakeups: [Wakeup] = []
    static let maxBackoffNs: Int64 = 30_000_000_000
    static let idleNs: Int64 = 30_000_000_000

    /// Apps attached with event subscriptions: whose cursors the retention policy counts as undelivered.
    private var subscriberIDs: [String] = []
    /// Each attached app's delivery thread.
    private var threads: [String: Thread] = [:]

    public init(store: EventStore) { self.store = store }

    /// The attached apps that subscribe to events.
    public var subscribers: [String] { lock.withLock { subscriberIDs } }

    /// Starts delivering to `supervisor`'s app what `policy` lets it subscribe to, and its timers. Attaching an app
    /// again (its grants or profile were re-read) retires its previous thread: delivery resumes from the app's
    /// durable cursor, at least once as always.
    public func attach(app: String, policy: Policy, supervisor: AppSupervisor) {
        let wakeup = Wakeup()
        let thread = Thread(dispatcher: self, app: app, policy: policy, supervisor: supervisor, wakeup: wakeup)
        let previous: Thread? = lock.withLock {
            wakeups.append(wakeup)
            let subscribes = !policy.requested.eventsSubscribe.isEmpty
            if subscribes && !subscriberIDs.contains(app) { subscriberIDs.append(app) }
            if !subscribes { subscriberIDs.removeAll { $0 == app } }
            defer { threads[app] = thread }
            return threads[app]
        }
        if let previous {
            previous.retire()
            lock.withLock { wakeups.removeAll { $0 === previous.wakeup } }
        }
        if !policy.requested.eventsSubscribe.isEmpty { store.noteSubscriber(app) }
        var handle = pthread_t()
        let box = Unmanaged.passRetained(thread).toOpaque()
        if pthread_create(&handle, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<Thread>.fromOpaque(raw).takeRetainedValue().run()
            return nil
        }, box) == 0 {
            pthread_detach(handle)
        } else {
            Unmanaged<Thread>.fromOpaque(box).release()
        }
    }

    /// Wakes every app's thread (new events or timers were committed).
    public func notify() { for w in lock.withLock({ wakeups }) { w.signal() } }

    /// Stops delivering.
    public func stop() {
        lock.withLock { stopped = true }
        notify()
    }

    var isStopped: Bool { lock.withLock { stopped } }

    private final class Thread {
        let dispatcher: EventDispatcher
        let app: String
        let policy: Policy
        let supervisor: AppSupervisor
        let wakeup: Wakeup
        var backoffNs: Int64 = 0
        /// Set when the app is attached again: this thread then ends.
        private let retired = Synchronization.Atomic<Bool>(false)

        func retire() {
            retired.store(true, ordering: .releasing)
            wakeup.signal()
        }

        var isRetired: Bool { retired.load(ordering: .acquiring) }

        init(dispatcher: EventDispatcher, app: String, policy: Policy, supervisor: AppSupervisor, wakeup: Wakeup) {
            self.dispatcher = dispatcher
            self.app = app
            self.policy = policy
            self.supervisor = supervisor
            self.wakeup = wakeup
        }

        /// When the app's outbox is next flushed (apps with a database only).
        var nextFlushNs = EventStore.nowNs() + EventDispatcher.idleNs

        func run() {
            while !dispatcher.isStopped && !isRetired {
                flushOutboxIfDue()
                var nextNs = min(EventStore.nowNs() + EventDispatcher.idleNs, nextFlushNs)
                if deliverEvents() && deliverTimers(&nextNs) {
                    backoffNs = 0
                } else {
                    backoffNs = min(max(backoffNs * 2, 100_000_000), EventDispatcher.maxBackoffNs)
                    nextNs = min(nextNs, EventStore.nowNs() + backoffNs)
                }
                wakeup.wait(untilNs: nextNs)
            }
        }

        /// Every `idleNs`, asks the app's worker to hand over outbox rows earlier calls left behind, so they never
        /// wait for the app's next call. Not awaited: a busy app takes it in turn.
        private func flushOutboxIfDue() {
            guard policy.hasDatabase, EventStore.nowNs() >= nextFlushNs else { return }
            nextFlushNs = EventStore.nowNs() + EventDispatcher.idleNs
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

        /// Delivers due timers; sets `nextNs` to the next one's due time. False when one failed.
        private func deliverTimers(_ nextNs: inout Int64) -> Bool {
            let (due, next) = dispatcher.store.timers(for: app, dueBy: EventStore.nowNs())
            if let next { nextNs = min(nextNs, next) }
            for timer in due {
                guard deliver(kind: 2, topic: [], payload: timer.payload, token: UInt64(timer.token)) else { return false }
                dispatcher.store.deleteTimer(timer.token)
            }
            return true
        }

        private func deliver(kind: UInt32, topic: [UInt8], payload: [UInt8], token: UInt64) -> Bool {
            let done = DispatchSemaphore(value: 0)
            let outcome = Outcome()
            supervisor.submitEvent(kind: kind, topic: topic, payload: payload, token: token) { result in
                if case .success(let reply) = result, reply.status == 0 { outcome.set() }
                done.signal()
            }
            done.wait()
            return outcome.ok
        }
    }

    private final class Outcome: @unchecked Sendable {
        private let lock = Mutex()
        private var value = false
        func set() { lock.withLock { value = true } }
        var ok: Bool { lock.withLock { value } }
    }
}
