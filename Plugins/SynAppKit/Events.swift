import FoundationEssentials
import PluginABI

/// Durable domain events (`events.publish`) and timers (`timers`), both kept only if the call succeeds.
public struct Events: Sendable {
    let host: Host

    /// Appends `type` (e.g. `homeservices.order.confirmed`) with `payload` as JSON to the node's event log.
    public func emit<T: Encodable>(_ type: String, _ payload: T) throws {
        let json = Array(try JSONKeys.current.encoder.encode(payload))
        // In a method call, events wait for the handler to succeed: a refused call announces nothing.
        if let call = host.call {
            call.events.append((Array(type.utf8), json))
            return
        }
        try send(Array(type.utf8), json)
    }

    func send(_ type: [UInt8], _ json: [UInt8]) throws(HostError) {
        let status = Host.withBuf(type) { t in Host.withBuf(json) { p in host.table.pointee.event_emit(host.ctx, t, p) } }
        try host.check(status, "event_emit")
    }

    /// Delivers `payload` (JSON) to this app's timer handler after `delayMs`; returns the timer's token.
    @discardableResult
    public func setTimer<T: Encodable>(afterMs delayMs: UInt64, _ payload: T) throws -> UInt64 {
        let json = Array(try JSONEncoder().encode(payload))
        var token: UInt64 = 0
        let status = Host.withBuf(json) { host.table.pointee.timer_set(host.ctx, delayMs, $0, &token) }
        try host.check(status, "timer_set")
        return token
    }
}
