import FoundationEssentials
import PluginABI

/// Durable domain events (`events.publish`) and timers (`timers`), both kept only if the call succeeds: in a method
/// call the SDK holds them until the handler returns.
public struct Events: Sendable {
    let host: Host

    /// Appends `type` (e.g. `homeservices.order.confirm`) with `payload` as JSON to the node's event log.
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

    /// The longest delay the node accepts (30 days, `SYN_TIMER_MAX_DELAY_MS` in synapp.h).
    public static let maxTimerDelayMs = UInt64(SYN_TIMER_MAX_DELAY_MS)

    /// Delivers `payload` (JSON) to this app's timer handler after `delayMs`; the handler receives the timer's token.
    /// In a method call the timer is set only if the handler succeeds, like an event.
    public func setTimer<T: Encodable>(afterMs delayMs: UInt64, _ payload: T) throws {
        guard delayMs <= Self.maxTimerDelayMs else {
            throw AppError(status: 500, code: "bad_timer", "setTimer: the delay may be at most 30 days, not \(delayMs) ms")
        }
        let json = Array(try JSONEncoder().encode(payload))
        if let call = host.call {
            call.timers.append((delayMs, json))
            return
        }
        try sendTimer(delayMs, json)
    }

    func sendTimer(_ delayMs: UInt64, _ json: [UInt8]) throws(HostError) {
        var token: UInt64 = 0
        let status = Host.withBuf(json) { host.table.pointee.timer_set(host.ctx, delayMs, $0, &token) }
        try host.check(status, "timer_set")
    }
}
