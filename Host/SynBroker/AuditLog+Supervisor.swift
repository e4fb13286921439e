public import SynSandbox

extension AuditLog {
    /// Records an app lifecycle event from the supervisor (start, death with its classified cause, restart,
    /// failure, stop). The actor is the node.
    public func record(_ event: SupervisorEvent) {
        switch event {
        case .started(let app, let instance, let pid):
            append(actor: "node", app: app, action: "app.start", decision: "ok", cause: "instance \(instance), pid \(pid)")
        case .died(let app, let instance, let death):
            append(actor: "node", app: app, action: "app.death", decision: death.outcome.rawValue,
                   cause: "instance \(instance): \(death.detail)")
        case .startFailed(let app, let instance, let reason):
            append(actor: "node", app: app, action: "app.start", decision: "refused", cause: "instance \(instance): \(reason)")
        case .restarting(let app, let instance, let delayMs):
            append(actor: "node", app: app, action: "app.restart", decision: "scheduled",
                   cause: "instance \(instance) in \(delayMs) ms")
        case .failed(let app, let reason):
            append(actor: "node", app: app, action: "app.failed", decision: "failed", cause: reason)
        case .stopped(let app):
            append(actor: "node", app: app, action: "app.stop", decision: "ok", cause: "")
        }
    }
}
