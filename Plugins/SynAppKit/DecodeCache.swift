public import FoundationEssentials
import Synchronization

/// Values decoded from JSON text kept by that text, for documents an app reads far more often than it changes (a
/// store's settings on every quote). A hit compares the text, so a changed document is decoded again: no version or
/// invalidation to get wrong, and each worker instance keeps its own. At most `limit` documents of up to 16 KiB each;
/// past the limit the cache starts again empty.
public final class DecodeCache<Value: Decodable & Sendable>: Sendable {
    private let limit: Int
    private let entries = Mutex<[String: Value]>([:])
    static var maxTextBytes: Int { 16 << 10 }

    public init(limit: Int) { self.limit = max(limit, 1) }

    /// `text` decoded (from the cache when it holds the same text).
    public func decode(_ text: String) throws -> Value {
        if let hit = entries.withLock({ $0[text] }) { return hit }
        let value = try JSONDecoder().decode(Value.self, from: Data(text.utf8))
        guard text.utf8.count <= Self.maxTextBytes else { return value }
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[text] = value
        }
        return value
    }
}
