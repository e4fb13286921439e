public import SynSandbox
import Logging
import SynBroker
import SynConfig
import Synchronization
import SynSystem
import SynWire

extension NodeRuntime {
    /// Why a call did not reach the app, or did not come back.
    public enum CallFailure: Error, Sendable, Equatable {
        case unknownApp(String)
        case notRunning(app: String, state: String, why: String?)
        case call(CallError)
        /// An anonymous call to a method the manifest does not list under `[methods] public`.
        case notPublic(app: String, method: String)
        /// The audit log cannot be written, so nothing that it would have to record runs.
        case auditUnavailable(String)
        /// The data directory's file system is below the node's reserve.
        case insufficientStorage(String)
        /// The app was moved to another node (`apps export --moved-to`): call it there.
        case moved(app: String, node: String)
        /// The app is on its way to another node (`apps migrate`): try again shortly, perhaps there.
        case moving(app: String, node: String)
    }

    /// Calls `method` of `app`, waiting in the app's bounded queue if its instances are busy, for as long as the
    /// app's own call timeout allows (the gateway gives up earlier, at its `request_timeout_ms`). An anonymous
    /// caller (empty `caller`) reaches only the manifest's public methods.
    public func call(app: String, method: String, caller: [UInt8], body: [UInt8], tag: String) async throws(CallFailure) -> CallReply {
        let result: Result<CallReply, CallFailure> = await withCheckedContinuation { continuation in
            submit(app: app, method: method, caller: caller, body: body, tag: tag) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// One app's call to another (`app_call`): submitted like a client's, with the chain it came through and the
    /// caller's deadline, and waited for on the calling instance's thread (its worker waits for the answer anyway).
    /// An anonymous call cannot happen here: the caller is the calling app or a person who signed the call.
    func runAppCall(_ call: AppCall) -> AppCallOutcome {
        let done = Monitor<Result<CallReply, CallFailure>?>(nil)
        submit(app: call.app, method: call.method, caller: call.caller, body: call.body, tag: call.tag,
               via: call.via, deadlineNs: call.deadlineNs) { result in done.update { $0 = result } }
        var outcome: Result<CallReply, CallFailure>?
        done.wait(untilMonotonicNs: call.deadlineNs + 50_000_000) { state in
            outcome = state
            return state != nil
        }
        switch outcome {
        case nil:
            return .failed(status: SynStatus.timeout, message: "no answer before the calling call's deadline")
        case .success(let reply)?:
            return .answered(status: reply.status, httpStatus: reply.httpStatus, body: reply.body)
        case .failure(let failure)?:
            return .failed(status: failure.synStatus, message: failure.message)
        }
    }

    /// `call` without a task: `complete` runs exactly once, on an instance thread, or at once when the call is
    /// refused.
    public func submit(app: String, method: String, caller: [UInt8], body: [UInt8], tag: String,
                       via: [String] = [], deadlineNs: Int64? = nil,
                       complete: @escaping @Sendable (Result<CallReply, CallFailure>) -> Void) {
        // Fail closed: nothing runs that the audit log could not record.
        if let refusal = auditRefusal() { return complete(.failure(.auditUnavailable(refusal))) }
        // One lock for every check, copying out only the supervisor: this runs for every request.
        let admitted: Result<AppSupervisor, CallFailure> = state.withLock { s in
            guard let entry = s.entries[app] else { return .failure(.unknownApp(app)) }
            if let node = s.moved[app] { return .failure(.moved(app: app, node: node)) }
            if let node = s.moving[app] { return .failure(.moving(app: app, node: node)) }
            if caller.isEmpty && !entry.manifest.publicMethods.contains(method) {
                return .failure(.notPublic(app: app, method: method))
            }
            guard !s.stopped else { return .failure(.notRunning(app: app, state: "stopping", why: "the node is shutting down")) }
            if let lowDisk = s.lowDisk { return .failure(.insufficientStorage(lowDisk)) }
            guard s.isEnabled(app) else {
                return .failure(.notRunning(app: app, state: "disabled", why: "node.toml apps.\(app).enabled = false"))
            }
            guard let supervisor = entry.supervisor else {
                return .failure(.notRunning(app: app, state: entry.problem == nil ? "disabled" : "failed", why: entry.problem))
            }
            s.inFlight += 1
            return .success(supervisor)
        }
        let supervisor: AppSupervisor
        switch admitted {
        case .success(let s): supervisor = s
        case .failure(let refusal): return complete(.failure(refusal))
        }
        supervisor.submit(method: method, caller: caller, body: body, tag: tag, via: via, deadlineNs: deadlineNs) { [self] result in
            // The call is over for the drain count when the worker answers, even after the gateway gave up.
            state.withLock { $0.inFlight -= 1 }
            complete(result.mapError { error in
                error.code == .unavailable
                    ? .notRunning(app: app, state: supervisor.state.rawValue, why: supervisor.failureReason)
                    : .call(error)
            })
        }
    }
}

extension NodeRuntime.CallFailure {
    /// The failure as an app that made the call (`app_call`) sees it: a `syn_status` and a sentence.
    var synStatus: Int32 {
        switch self {
        case .unknownApp: SynStatus.notFound
        case .notRunning, .auditUnavailable, .moved, .moving: SynStatus.io
        case .notPublic: SynStatus.denied
        case .insufficientStorage: SynStatus.quota
        case .call(let error):
            switch error.code {
            case .busy: SynStatus.quota
            case .unavailable: SynStatus.io
            case .tooLarge: SynStatus.tooLarge
            case .workerDied: error.death?.outcome == .timeout ? SynStatus.timeout : SynStatus.internalError
            }
        }
    }

    var message: String {
        switch self {
        case .unknownApp(let app): "no app '\(app)' on this node"
        case .notRunning(let app, let state, let why): "app '\(app)' is \(state)" + (why.map { ": \($0)" } ?? "")
        case .notPublic(let app, let method): "\(app) \(method) is not public"
        case .auditUnavailable(let why): "the audit log cannot be written: \(why)"
        case .insufficientStorage(let why): why
        case .moved(let app, let node): "app '\(app)' has moved to node \(node)"
        case .moving(let app, let node): "app '\(app)' is moving to node \(node)"
        case .call(let error): error.message
        }
    }
}
