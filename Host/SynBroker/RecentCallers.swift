/// Who the most recent calls that emitted events or timers acted for, by request id: the host attributes each
/// outbox row by the call that wrote it, whatever the row says. Bounded; the oldest entries go first.
struct RecentCallers {
    private let capacity: Int
    private var actors: [UInt64: String] = [:]
    private var order: [UInt64] = []
    private var oldest = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func record(_ requestID: UInt64, _ actor: String) {
        guard actors.updateValue(actor, forKey: requestID) == nil else { return }
        if order.count < capacity {
            order.append(requestID)
        } else {
            actors.removeValue(forKey: order[oldest])
            order[oldest] = requestID
            oldest = (oldest + 1) % capacity
        }
    }

    func actor(_ requestID: UInt64) -> String? { actors[requestID] }
}
