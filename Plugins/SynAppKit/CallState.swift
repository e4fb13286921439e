/// What the SDK keeps for one method call: the events and timers it asked for, which reach the node only if the
/// handler succeeds.
final class CallState: @unchecked Sendable {
    var events: [(type: [UInt8], payload: [UInt8])] = []
    var timers: [(delayMs: UInt64, payload: [UInt8])] = []
}
