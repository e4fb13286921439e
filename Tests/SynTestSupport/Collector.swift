import Foundation

/// Text read from a pipe by one thread and awaited by another.
public final class Collector: @unchecked Sendable {
    private let condition = NSCondition()
    private var buffer = ""
    private var ended = false

    public init() {}

    public var text: String { condition.withLock { buffer } }

    public func append(_ s: String) { condition.withLock { buffer += s; condition.broadcast() } }
    public func finish() { condition.withLock { ended = true; condition.broadcast() } }

    /// Waits until every marker is in the text; false at end-of-file or after `seconds`.
    public func waitFor(_ markers: [String], seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while !markers.allSatisfy(buffer.contains) {
            if ended || !condition.wait(until: deadline) { return markers.allSatisfy(buffer.contains) }
        }
        return true
    }
}
