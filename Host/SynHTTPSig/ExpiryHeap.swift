/// A binary min-heap of (expiry, key), so expired replay entries are found in O(log n) without scanning.
struct ExpiryHeap {
    private(set) var entries: [(expiry: Int64, key: ReplayKey)] = []

    var count: Int { entries.count }

    /// The earliest expiry, if any.
    var minimum: (expiry: Int64, key: ReplayKey)? { entries.first }

    mutating func push(expiry: Int64, key: ReplayKey) {
        entries.append((expiry, key))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].expiry < entries[parent].expiry else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the entry with the earliest expiry.
    mutating func popMinimum() -> (expiry: Int64, key: ReplayKey)? {
        guard let top = entries.first else { return nil }
        let last = entries.removeLast()
        if entries.isEmpty { return top }
        entries[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count && entries[left].expiry < entries[smallest].expiry { smallest = left }
            if right < entries.count && entries[right].expiry < entries[smallest].expiry { smallest = right }
            if smallest == parent { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
