/// What the SDK keeps for one method call: whether it took a savepoint, and the events and timers it asked for,
/// which reach the node only if the handler succeeds.
final class CallState: @unchecked Sendable {
    var savepoint = false
    var events: [(type: [UInt8], payload: [UInt8])] = []
    var timers: [(delayMs: UInt64, payload: [UInt8])] = []

    /// Set once a savepoint was refused (the app has no `storage.sql` grant): not asked again in this worker.
    nonisolated(unsafe) static var savepointsUnavailable = false
}
