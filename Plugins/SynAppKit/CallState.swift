/// What the SDK keeps for one method call: whether it took a savepoint, and the events it emitted, which are sent
/// only if the handler succeeds.
final class CallState: @unchecked Sendable {
    var savepoint = false
    var events: [(type: [UInt8], payload: [UInt8])] = []

    /// Set once a savepoint was refused (the app has no `storage.sql` grant): not asked again in this worker.
    nonisolated(unsafe) static var savepointsUnavailable = false
}
