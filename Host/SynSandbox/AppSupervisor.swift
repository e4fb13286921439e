import SynSystem
import SynWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs one app's workers: routes each call to an idle instance, keeps a bounded queue, restarts dead workers
/// with exponential backoff, and marks the app `failed` after repeated deaths within a window.
///
/// Each instance lives on its own OS thread, which spawns its worker (and so outlives it) and serves calls from
/// the shared queue. A worker's death fails only the call it was serving; other instances and apps carry on.
public final class AppSupervisor: Sendable {
    public enum State: String, Sendable {
        case starting, running, backoff, failed, stopped
    }

    public let spec: WorkerSpec
    public let policy: SupervisorPolicy
    let hostCalls: any HostCallHandler
    let log: @Sendable (AppLogLine) -> Void
    let onEvent: @Sendable (SupervisorEvent) -> Void

    let shared = Mutex(Shared())
    /// Signalled only when an instance sleeps with the queue empty: a busy instance finds new calls by itself.
    let work = EventFD(semaphore: false)
    let wake = EventFD(semaphore: false)

    /// The queue, the instances and what they counted, behind the supervisor's lock.
    struct Shared {
        var queue: [Pending] = []
        var queueHead = 0
        var idle = 0
        var running = 0
        var liveThreads = 0
        var workers: [Int: WorkerProcess] = [:]
        /// Instances in the middle of a call: the only ones `stop` interrupts (idle ones shut down gracefully).
        var busy: Set<Int> = []
        var usage = AppFootprint()
        /// CPU time of workers already gone.
        var deadCPUNs: Int64 = 0
        var stopped = true
        var failure: String?
        var deathTimes: [Int64] = []
        var consecutiveDeaths = 0
        var recent: [WorkerDeath] = []

        /// Counts one finished call that started at `startedNs` (`MonotonicClock`).
        mutating func count(_ startedNs: Int64, failed: Bool, clientError: Bool = false) {
            usage.calls += 1
            if failed { usage.errors += 1 }
            if clientError { usage.clientErrors += 1 }
            usage.wallMs += Double(MonotonicClock.nowNs() - startedNs) / 1e6
        }

        /// Empties the queue, returning what waited.
        mutating func drainQueue() -> [Pending] {
            let rest = Array(queue[queueHead...])
            queue = []
            queueHead = 0
            return rest
        }
    }

    struct Pending {
        let work: WorkerCall
        /// `work.wireSize`, measured once at the door.
        let size: Int
        let complete: @Sendable (Result<CallReply, CallError>) -> Void
    }

    /// At most this many calls, and `maxPipelinedBytes`, go to a worker in one batch (`WorkerProcess.pipeline`).
    static let maxPipelinedCalls = 16
    /// Small enough that a batch sits in the socket buffer whole, so sending never waits on the worker.
    static let maxPipelinedBytes = 32 * 1024

    public init(spec: WorkerSpec, policy: SupervisorPolicy, hostCalls: any HostCallHandler = UnsupportedHostCalls(),
                log: @escaping @Sendable (AppLogLine) -> Void = { _ in },
                onEvent: @escaping @Sendable (SupervisorEvent) -> Void = { _ in }) {
        self.spec = spec
        self.policy = policy
        self.hostCalls = hostCalls
        self.log = log
        self.onEvent = onEvent
    }

    /// The app's state: `running` when at least one instance serves, `failed` after too many deaths.
    public var state: State {
        shared.withLock { st in
            if st.failure != nil { return .failed }
            if st.stopped { return .stopped }
            if st.running > 0 { return .running }
            return st.consecutiveDeaths > 0 ? .backoff : .starting
        }
    }

    /// Calls, errors, wall and CPU time, and deaths by cause so far (storage, events and denials come from the broker).
    public var footprint: AppFootprint {
        let (snapshot, live, dead) = shared.withLock { st in (st.usage, Array(st.workers.values), st.deadCPUNs) }
        var result = snapshot
        result.cpuMs = Double(dead + live.reduce(0) { $0 + $1.cpuTimeNs() }) / 1e6
        return result
    }

    /// Whether instance threads are still running (they exit after `stop`, once their workers are shut down).
    public var hasLiveThreads: Bool { shared.withLock { st in st.liveThreads > 0 } }

    /// Instances in the middle of a call now.
    public var busyInstances: Int { shared.withLock { st in st.busy.count } }

    /// Calls waiting in the queue now, plus those being served: whether the app is busy.
    public var load: Int { shared.withLock { st in st.queue.count - st.queueHead + st.busy.count } }

    /// Why the app failed, if it did.
    public var failureReason: String? { shared.withLock { st in st.failure } }

    /// The most recent deaths, oldest first (at most 32).
    public var recentDeaths: [WorkerDeath] { shared.withLock { st in st.recent } }

    /// Starts the instances. Also clears a `failed` state (a node owner's restart).
    public func start() {
        _ = wake.take()
        let first: Int = shared.withLock { st in
            st.stopped = false
            st.failure = nil
            st.deathTimes = []
            st.consecutiveDeaths = 0
            let first = st.liveThreads
            st.liveThreads = max(st.liveThreads, policy.instances)
            return first
        }
        let last = max(first, policy.instances)
        for instance in first..<last {
            if OSThread.start(name: "\(spec.appID)#\(instance)", { [self] in serve(instance: instance) }) { continue }
            // The system gave no thread (RLIMIT_NPROC, memory): this instance and those after it do not run, so the
            // next `start` begins again at this number. With no instance at all the app has failed, and says why.
            shared.withLock { st in
                st.liveThreads -= last - instance
                if st.liveThreads == 0 {
                    st.failure = "app '\(spec.appID)' failed: the system refused a thread for its instances (RLIMIT_NPROC or memory)"
                }
            }
            break
        }
    }

    /// Stops every instance; queued calls fail with `unavailable`.
    public func stop() {
        let (dropped, inCall): ([Pending], [WorkerProcess]) = shared.withLock { st in
            st.stopped = true
            return (st.drainQueue(), st.busy.compactMap { st.workers[$0] })
        }
        wake.signal()
        for w in inCall { w.interrupt(.exit, "app '\(spec.appID)' stopped by the host") }
        for p in dropped { p.complete(.failure(CallError(.unavailable, "app '\(spec.appID)' was stopped"))) }
        onEvent(.stopped(app: spec.appID))
    }

    /// Calls `method` on an idle instance, waiting in the bounded queue if all are busy.
    public func call(method: String, caller: [UInt8] = [], body: [UInt8] = [], tag: String = "") async throws(CallError) -> CallReply {
        let result: Result<CallReply, CallError> = await withCheckedContinuation { continuation in
            submit(method: method, caller: caller, body: body, tag: tag) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Queues a call; `complete` runs exactly once, on an instance thread or immediately when refused.
    /// `tag` is the gateway's request id, for the call's audit entries and log lines.
    public func submit(method: String, caller: [UInt8], body: [UInt8], tag: String = "", via: [String] = [],
                       deadlineNs: Int64? = nil, complete: @escaping @Sendable (Result<CallReply, CallError>) -> Void) {
        enqueue(.handle(method: method, caller: caller, body: body, tag: tag, via: via, deadlineNs: deadlineNs), complete)
    }

    /// Queues an event, timer or message for the app's `on_event` (kind per synapp.h); `complete` runs once.
    public func submitEvent(kind: UInt32, topic: [UInt8], payload: [UInt8], token: UInt64,
                            complete: @escaping @Sendable (Result<CallReply, CallError>) -> Void) {
        enqueue(.event(kind: kind, topic: topic, payload: payload, token: token), complete)
    }

    /// Queues a step of an online backup of the app's database (`CallOp.backup`), taken by an instance between calls
    /// like any call; `complete` runs once with the worker's reply (`u8 done, u64 remaining, u64 pages`).
    public func submitBackup(pages: UInt32, mode: UInt8 = 0, timeoutMs: Int? = nil,
                             complete: @escaping @Sendable (Result<CallReply, CallError>) -> Void) {
        enqueue(.backup(pages: pages, mode: mode, timeoutMs: timeoutMs), complete)
    }

    private func enqueue(_ item: WorkerCall, _ complete: @escaping @Sendable (Result<CallReply, CallError>) -> Void) {
        var wakeNeeded = false
        let size = item.wireSize
        let refusal: CallError? = shared.withLock { st in
            guard size <= spec.maxMessage else {
                return CallError(.tooLarge, "the call's \(size) bytes exceed the \(spec.maxMessage / 1024) KiB '\(spec.appID)' accepts (profile key limits.max_frame_kb)")
            }
            if let failure = st.failure { return CallError(.unavailable, failure) }
            if st.stopped { return CallError(.unavailable, "app '\(spec.appID)' is stopped") }
            let waiting = st.queue.count - st.queueHead
            guard waiting < policy.queueDepth + st.idle else {
                return CallError(.busy, "all \(policy.instances) instance(s) of '\(spec.appID)' are busy and \(waiting) call(s) are queued (profile keys limits.instances, limits.queue_depth)")
            }
            st.queue.append(Pending(work: item, size: size, complete: complete))
            wakeNeeded = st.idle > 0
            return nil
        }
        if let refusal { complete(.failure(refusal)) } else if wakeNeeded { work.signal() }
    }
}
