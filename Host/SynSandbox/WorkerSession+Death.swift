import CSynSys
import SynSystem
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// How a worker's end is found out and classified: its last words (fatal frames), its exit status, the cgroup's
/// OOM count, and what the host itself did to it.
extension WorkerSession {
    /// After a fatal frame, or a closed link, the worker is going away: collect its last words, then reap it.
    /// A worker that reports its death but keeps its link open past the window is lying about it.
    func drainAfterFatal() throws(WorkerError) -> WorkerDeath {
        let deadline = MonotonicClock.nowMs() + 2000
        while true {
            let remaining = deadline - MonotonicClock.nowMs()
            if remaining <= 0 { return kill(.protocolViolation, "reported its death but kept running") }
            do {
                let frame = try link.receive(timeoutMs: Int32(clamping: remaining))
                if frame.kind == .fatal { keepFatal(frame) }
            } catch {
                if error.code == .closed { break }
                if error.code != .timeout { return kill(.protocolViolation, error.message) }
            }
        }
        return try reapOrRefuse()
    }

    /// Reaps a worker that closed its link; a setup or load failure becomes `refused`.
    func reapOrRefuse() throws(WorkerError) -> WorkerDeath {
        let death = reap()
        for frame in fatalFrames {
            let message = String(decoding: frame.payload, as: UTF8.self)
            if frame.op == FatalOp.setupFailed.rawValue { throw .refused(SandboxError(.setup, message)) }
            if frame.op == FatalOp.loadRefused.rawValue { throw .refused(SandboxError(.load, message)) }
        }
        return death
    }

    /// Kills the worker for `outcome` and reaps it.
    func kill(_ outcome: Outcome, _ detail: String) -> WorkerDeath {
        forcedDeath = WorkerDeath(outcome, detail)
        Glibc.kill(pid, SIGKILL)
        return reap()
    }

    /// Waits for the worker to exit (killing it if it lingers) and classifies its death.
    @discardableResult
    func reap() -> WorkerDeath {
        if let death { return death }
        if pidfd >= 0 && !WorkerProcess.pollReadable(pidfd, 2000) { Glibc.kill(pid, SIGKILL) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        // The outer process waited for init, which waited for the app: this covers the whole worker.
        let cpu = WorkerProcess.nanoseconds(usage.ru_utime) + WorkerProcess.nanoseconds(usage.ru_stime)
        // Published at once: the classification and the cgroup's removal can take a while.
        fate.reaped(cpuNs: cpu)
        let result = classify(outerStatus: status)
        cgroup.remove()
        death = result
        fate.died(result)
        return result
    }

    private func classify(outerStatus: Int32) -> WorkerDeath {
        if let forcedDeath { return forcedDeath }
        if let interrupted = fate.interruption { return interrupted }
        var fate: (signaled: Bool, value: Int32)?
        for frame in fatalFrames {
            var r = WireReader(frame.payload)
            switch FatalOp(rawValue: frame.op) {
            case .seccomp:
                let nr = (try? r.i32()) ?? -1
                let arch = (try? r.u32()) ?? 0
                return WorkerDeath(.seccompViolation, WorkerProcess.syscallName(nr, arch: arch))
            case .appFate:
                if let how = try? r.i32(), let value = try? r.i32() { fate = (how == 1, value) }
            case .setupFailed: return WorkerDeath(.protocolViolation, "sandbox setup failed: " + String(decoding: frame.payload, as: UTF8.self))
            case .loadRefused: return WorkerDeath(.protocolViolation, "load refused: " + String(decoding: frame.payload, as: UTF8.self))
            case nil: return WorkerDeath(.protocolViolation, "unknown fatal report \(frame.op)")
            }
        }
        if cgroup.oomKills() > 0 {
            return WorkerDeath(.memoryQuota, "killed by the cgroup memory limit of \(spec.memoryBytes >> 20) MiB (profile key limits.memory_mb)")
        }
        guard let fate else {
            if csyn_wifsignaled(outerStatus) != 0 {
                return WorkerDeath(.crash, "worker killed by \(SignalNames.name(csyn_wtermsig(outerStatus))) before reporting")
            }
            return WorkerDeath(.exit, "worker exited with code \(csyn_wexitstatus(outerStatus)) before reporting")
        }
        if fate.signaled {
            switch fate.value {
            case SIGSYS: return WorkerDeath(.seccompViolation, "unreported syscall (SIGSYS)")
            case SIGXCPU: return WorkerDeath(.cpuQuota, "CPU budget of \(spec.setup.cpuSeconds) s exhausted (profile key limits.cpu_seconds)")
            case SIGXFSZ: return WorkerDeath(.crash, "SIGXFSZ: the app tried to write a file")
            default: return WorkerDeath(.crash, SignalNames.name(fate.value))
            }
        }
        if fate.value == 159 { return WorkerDeath(.seccompViolation, "syscall reported lost") }
        return WorkerDeath(.exit, "the app exited with code \(fate.value)")
    }
}
