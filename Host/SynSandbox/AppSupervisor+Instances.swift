import SynSystem
import SynWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The instance threads: each spawns its worker, sleeps until calls are queued (or the worker dies), serves them
/// in batches, and restarts a dead worker after its backoff.
extension AppSupervisor {
    func serve(instance: Int) {
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
