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
public final class AppSupervisor: @unchecked Sendable {
    public enum State: String, Sendable {
        case starting, running, backoff, failed, stopped
    }

    public let spec: WorkerSpec
    public let policy: SupervisorPolicy
    private let hostCalls: any HostCallHandler
    private let log: @Sendable (AppLogLine) -> Void
    private let onEvent: @Sendable (SupervisorEvent) -> Void

    private let shared = Mutex(Shared())
    /// Signalled only when an instance sleeps with the queue empty: a busy instance finds new calls by itself.
    private let work = EventFD(semaphore: false)
    private let wake = EventFD(semaphore: false)

    /// The queue, the instances and what they counted, behind the supervisor's lock.
    private struct Shared {
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

    private struct Pending {
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
        for instance in first..<max(first, policy.instances) {
            let started = OSThread.start(name: "\(spec.appID)#\(instance)") { [self] in self.serve(instance: instance) }
            if !started {
                // The system gave no thread: the app serves with fewer instances, and says why.
                shared.withLock { st in
                    st.liveThreads -= 1
                    if st.liveThreads == 0 { st.failure = "app '\(spec.appID)' failed: the system refused a thread for its instances (RLIMIT_NPROC or memory)" }
                }
            }
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
    public func submit(method: String, caller: [UInt8], body: [UInt8], tag: String = "",
                       complete: @escaping @Sendable (Result<CallReply, CallError>) -> Void) {
        enqueue(.handle(method: method, caller: caller, body: body, tag: tag), complete)
    }

    /// Queues an event, timer or message for the app's `on_event` (kind per synapp.h); `complete` runs once.
    public func submitEvent(kind: UInt32, topic: [UInt8], payload: [UInt8], token: UInt64,
                            complete: @escaping @Sendable (Result<CallReply, CallError>) -> Void) {
        enqueue(.event(kind: kind, topic: topic, payload: payload, token: token), complete)
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

    // MARK: - Instance threads

    private func serve(instance: Int) {
        var worker: WorkerProcess?
        while true {
            if isStopping() { break }
            if worker == nil {
                worker = startWorker(instance: instance)
                if worker == nil { continue }
            }
            guard let current = worker else { continue }
            // Sleep only with nothing queued; `enqueue` signals `work` only while some instance sleeps.
            let sleeps: Bool = shared.withLock { st in
                guard st.queueHead == st.queue.count else { return false }
                st.idle += 1
                return true
            }
            if sleeps {
                let (sock, pidfd) = current.watchDescriptors
                var fds = [pollfd(fd: work.fd, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: sock, events: 0, revents: 0),
                           pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
                let r = poll(&fds, 4, -1)
                shared.withLock { st in st.idle -= 1 }
                if fds[0].revents != 0 { _ = work.take() }
                if r > 0 && (fds[2].revents != 0 || fds[3].revents != 0), let death = current.checkIdle() {
                    worker = nil
                    forget(instance)
                    backoff(instance: instance, after: death)
                }
                continue
            }
            let batch = dequeueBatch(for: instance)
            guard !batch.isEmpty else { continue }
            var started = MonotonicClock.nowNs()
            var diedCall: (index: Int, death: WorkerDeath)?
            var unstarted: [Pending] = []
            let gone = current.pipeline(batch.map(\.work)) { i, outcome in
                switch outcome {
                case .reply(let reply):
                    shared.withLock { st in
                        st.consecutiveDeaths = 0
                        st.count(started, failed: reply.status != 0 || reply.httpStatus >= 500,
                              clientError: reply.status == 0 && (400..<500).contains(reply.httpStatus))
                    }
                    started = MonotonicClock.nowNs()
                    batch[i].complete(.success(reply))
                case .died(let error):
                    switch error {
                    case .died(let d): diedCall = (i, d)
                    case .refused(let e): diedCall = (i, WorkerDeath(.protocolViolation, e.message))
                    }
                case .notStarted:
                    unstarted.append(batch[i])
                }
            }
            shared.withLock { st in _ = st.busy.remove(instance) }
            guard let gone else { continue }
            worker = nil
            forget(instance)
            requeue(unstarted)
            guard let diedCall else {
                // Died between calls: like an idle death, no call is blamed.
                backoff(instance: instance, after: gone)
                continue
            }
            shared.withLock { st in st.count(started, failed: true) }
            let wait = noteDeath(instance: instance, diedCall.death)
            batch[diedCall.index].complete(.failure(CallError(.workerDied, "the worker of '\(spec.appID)' died during the call: \(diedCall.death)",
                                                              death: diedCall.death)))
            sleep(wait)
        }
        if let worker {
            worker.shutdown()
            forget(instance)
        }
        shared.withLock { st in st.liveThreads -= 1 }
    }

    private func startWorker(instance: Int) -> WorkerProcess? {
        do {
            let w = try WorkerProcess.start(spec, hostCalls: hostCalls, log: log)
            shared.withLock { st in
                st.running += 1
                st.workers[instance] = w
            }
            onEvent(.started(app: spec.appID, instance: instance, pid: w.pid))
            return w
        } catch {
            switch error {
            case .died(let death): backoff(instance: instance, after: death)
            case .refused(let e):
                onEvent(.startFailed(app: spec.appID, instance: instance, reason: e.description))
                backoff(instance: instance, after: WorkerDeath(e.code == .denied ? .denied : .protocolViolation, e.message))
            }
            return nil
        }
    }

    private func forget(_ instance: Int) {
        shared.withLock { st in
            st.running -= 1
            if let gone = st.workers.removeValue(forKey: instance) { st.deadCPUNs += gone.cpuTimeNs() }
        }
    }

    private func backoff(instance: Int, after death: WorkerDeath) { sleep(noteDeath(instance: instance, death)) }

    /// Counts a death and marks the app failed past the limit. Returns the restart delay (0 when failed).
    private func noteDeath(instance: Int, _ death: WorkerDeath) -> Int {
        onEvent(.died(app: spec.appID, instance: instance, death: death))
        let now = MonotonicClock.nowMs()
        let (delay, failedNow, dropped): (Int, String?, [Pending]) = shared.withLock { st in
            // A worker the host st.stopped did not die on its own.
            if !st.stopped { st.usage.deaths[death.outcome.rawValue, default: 0] += 1 }
            st.recent.append(death)
            if st.recent.count > 32 { st.recent.removeFirst(st.recent.count - 32) }
            st.deathTimes.append(now)
            st.deathTimes.removeAll { now - $0 > Int64(policy.windowMs) }
            st.consecutiveDeaths += 1
            if st.failure == nil && !st.stopped && st.deathTimes.count >= policy.maxDeaths {
                st.failure = "app '\(spec.appID)' failed: \(st.deathTimes.count) worker deaths within \(policy.windowMs / 1000) s; last: \(death)"
                return (0, st.failure, st.drainQueue())
            }
            return (policy.backoffMs(afterConsecutiveDeaths: st.consecutiveDeaths), nil, [])
        }
        if let failedNow {
            onEvent(.failed(app: spec.appID, reason: failedNow))
            wake.signal()
            for p in dropped { p.complete(.failure(CallError(.unavailable, failedNow, death: death))) }
            return 0
        }
        onEvent(.restarting(app: spec.appID, instance: instance, delayMs: delay))
        return delay
    }

    /// Sleeps the backoff, waking early when the app is stopped.
    private func sleep(_ delayMs: Int) {
        guard delayMs > 0 else { return }
        var fd = pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&fd, 1, Int32(clamping: delayMs))
    }

    private func isStopping() -> Bool { shared.withLock { st in st.stopped || st.failure != nil } }

    /// The next calls for `instance`: the oldest, then those behind it while the batch stays within
    /// `maxPipelinedCalls` and `maxPipelinedBytes`, and within this instance's share of the queue. The instance is
    /// marked busy in the same step, so a `stop` from now on interrupts its worker rather than letting it start
    /// calls after the stop.
    private func dequeueBatch(for instance: Int) -> [Pending] {
        var passOn = false
        defer { if passOn { work.signal() } }
        return shared.withLock { st in
            let waiting = st.queue.count - st.queueHead
            guard waiting > 0 else { return [] }
            st.busy.insert(instance)
            let share = min(Self.maxPipelinedCalls, (waiting + policy.instances - 1) / max(policy.instances, 1))
            var batch = [st.queue[st.queueHead]]
            var bytes = st.queue[st.queueHead].size
            st.queueHead += 1
            while batch.count < share, st.queueHead < st.queue.count {
                let next = st.queue[st.queueHead]
                bytes += next.size
                guard bytes <= Self.maxPipelinedBytes else { break }
                batch.append(next)
                st.queueHead += 1
            }
            if st.queueHead > 64 && st.queueHead * 2 > st.queue.count {
                st.queue.removeFirst(st.queueHead)
                st.queueHead = 0
            }
            // Sleeping instances share one eventfd, and the first to wake resets it: calls left for the others
            // would wait for the next enqueue unless the wake-up is passed on.
            passOn = st.queueHead < st.queue.count && st.idle > 0
            return batch
        }
    }

    /// Puts calls a dead worker never started back at the head of the queue, in order, for the next worker; when
    /// the app is stopping or failed they fail as unavailable instead.
    private func requeue(_ calls: [Pending]) {
        guard !calls.isEmpty else { return }
        var wakeNeeded = false
        let refusal: String? = shared.withLock { st in
            if let failure = st.failure { return failure }
            if st.stopped { return "app '\(spec.appID)' was stopped" }
            st.queue.insert(contentsOf: calls, at: st.queueHead)
            wakeNeeded = st.idle > 0
            return nil
        }
        if let refusal { for p in calls { p.complete(.failure(CallError(.unavailable, refusal))) } }
        if wakeNeeded { work.signal() }
    }
}
