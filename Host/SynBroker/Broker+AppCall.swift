import SynAppStore
import SynConfig
import SynSandbox
import SynSodium
import SynSystem
import SynText
import SynWire
import Synchronization

/// `app_call` (ABI minor 1): one app calls another app's method on this node, as itself or for a person who
/// signed exactly that call.
extension Broker {
    /// `app_call`: checks the grant, the chain of calls and any person's signature, runs the target through the
    /// node and audits the call as "<app>" or "<app> for <person>"; the answer is the target's status and body.
    func appCall(_ app: AppState, _ context: HostCallContext, _ r: inout WireReader) throws -> (UInt32, [UInt8]) {
        let op = HostOp.appCall
        let targetBytes = try r.data(limit: 64), methodBytes = try r.data(limit: 129)
        let body = try r.data(limit: Self.maxValue + 1), onBehalf = try r.data(limit: 4096)
        guard let target = String(validating: targetBytes, as: UTF8.self), NameRules.isAppID(target) else {
            throw BrokerFailure(SynStatus.badArg, "app_call: the app is an app id ([a-z][a-z0-9_-]{0,62}), such as \"homeservices\"")
        }
        guard let method = String(validating: methodBytes, as: UTF8.self), NameRules.isMethodName(method) else {
            throw BrokerFailure(SynStatus.badArg, "app_call: the method is a method name ([a-z][a-z0-9_.-]{0,127}), such as \"quotes.accept\"")
        }
        guard body.count <= Self.maxValue else { throw BrokerFailure(SynStatus.tooLarge, "app_call: the body is at most 1 MiB") }
        try require(app, .call(app: target, method: method), op)
        let made: Int = state.withLock { st in
            st.appCalls[context.requestID, default: 0] += 1
            return st.appCalls[context.requestID] ?? 0
        }
        guard made <= Self.maxAppCallsPerCall else {
            throw BrokerFailure(SynStatus.quota, "app_call: one call may call other apps at most \(Self.maxAppCallsPerCall) times")
        }
        let chain = context.via + [context.app]
        if chain.contains(target) {
            throw BrokerFailure(SynStatus.denied, "app_call denied: \((chain + [target]).joined(separator: " → ")) is a cycle; an app already in the chain of calls is not called again")
        }
        guard chain.count < Self.maxCallDepth else {
            throw BrokerFailure(SynStatus.denied, "app_call denied: \((chain + [target]).joined(separator: " → ")) is deeper than \(Self.maxCallDepth) apps (SYN_APP_CALL_MAX_DEPTH)")
        }
        guard let appCaller else { throw BrokerFailure(SynStatus.unsupported, "app_call: this node runs no calls between apps") }
        let deadline = context.deadlineNs - Self.appCallMarginNs
        guard deadline > MonotonicClock.nowNs() + 10_000_000 else {
            throw BrokerFailure(SynStatus.timeout, "app_call: too little of this call's time is left to call \(target)")
        }
        let perMinute = node.apps[context.app]?.appCallsPerMinute ?? NodeConfig.App().appCallsPerMinute
        let admitted: Bool = state.withLock { st in
            let now = MonotonicClock.nowNs(), burst = Double(perMinute)
            return st.appCallBudget[context.app, default: TokenBucket(burst: burst, nowNs: now)]
                .take(perSecond: burst / 60, burst: burst, nowNs: now)
        }
        guard admitted else {
            throw BrokerFailure(SynStatus.quota, "app_call: app '\(context.app)' calls other apps at most \(perMinute) times a minute (node.toml [apps.\(context.app)] app_calls_per_minute)")
        }
        // Who the target sees: this app, or the person who signed exactly this call (checked, then spent).
        var caller = app.key.publicKey, actor = context.app
        if !onBehalf.isEmpty {
            let signed = try SignedCall.parse(onBehalf).get()
            let now = WallClock.nowNs() / 1_000_000_000
            if let why = signed.refusal(node: Base64URL.encode(nodePublicKey), via: context.app, app: target, method: method, body: body,
                                        nowSeconds: now, notBefore: startedSeconds) {
                throw BrokerFailure(SynStatus.denied, "app_call denied: on_behalf: \(why)")
            }
            switch callReplays.admit(key: signed.key, nonce: signed.nonce, expiry: signed.created + SignedCall.maxAgeSeconds + 1,
                                     app: context.app, nowSeconds: now) {
            case nil: break
            case .replay?:
                throw BrokerFailure(SynStatus.denied, "app_call denied: on_behalf: this signed call (key and nonce) was already used: a person's signature acts once")
            case .full(let why)?:
                throw BrokerFailure(SynStatus.quota, "app_call: on_behalf: " + why)
            }
            caller = signed.key
            actor = context.app + " for " + Self.actor(signed.key)
        }
        let outcome = appCaller(AppCall(app: target, method: method, caller: caller, body: body, via: chain, deadlineNs: deadline, tag: context.tag))
        switch outcome {
        case .answered(let status, let http, let answer):
            audit.append(actor: actor, app: target, action: "app_call " + method, decision: status == 0 ? String(http) : "failed (\(status))",
                         cause: "called by app '\(context.app)'" + Self.requestSuffix(context))
            guard status == 0 else {
                // The target failed (its own status, which says nothing of this app's rights): an answer, as the
                // gateway gives a client, not a failure of this slot.
                let why = String(decoding: answer.prefix(1024), as: UTF8.self)
                return (502, Array("{\"error\":{\"code\":\"app_failed\",\"message\":\(JSONString.quote("\(target) \(method) failed with status \(status): \(why)"))}}".utf8))
            }
            return (http, answer)
        case .failed(let status, let message):
            audit.append(actor: actor, app: target, action: "app_call " + method, decision: "failed (\(status))",
                         cause: message + Self.requestSuffix(context))
            // Not this app's denial either: a target that is down, busy or too slow.
            throw BrokerFailure(status == SynStatus.denied ? SynStatus.io : status, "app_call: \(target) \(method): " + message)
        }
    }
}
