/// Who the most recent calls that emitted events or timers acted for, by app and request id: the host attributes
/// each outbox row by its own record of the call that wrote it, never by what the row says, and an app can name
/// only its own calls. Bounded; the oldest entries go first (a row older than that is stored "unattributed").
struct RecentCallers {
    private struct Key: Hashable {
        let app: String
        let requestID: UInt64
    }
    private let capacity: Int
    private var actors: [Key: String] = [:]
    private var order: [Key] = []
    private var oldest = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func record(_ app: String, _ requestID: UInt64, _ actor: String) {
        let key = Key(app: app, requestID: requestID)
        guard actors.updateValue(actor, forKey: key) == nil else { return }
        if order.count < capacity {
            order.append(key)
        } else {
            actors.removeValue(forKey: order[oldest])
            order[oldest] = key
            oldest = (oldest + 1) % capacity
        }
    }

    func actor(_ app: String, _ requestID: UInt64) -> String? { actors[Key(app: app, requestID: requestID)] }
}
