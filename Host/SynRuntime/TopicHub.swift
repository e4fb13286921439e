import SynSandbox
import Synchronization

/// Ephemeral messages on their way to one app each: a small queue per subscriber, delivered one at a time as
/// `on_event` kind 4. A subscriber that does not keep up loses messages (they are counted) rather than growing the
/// node's memory; a stopped one gets none.
final class TopicHub: Sendable {
    /// Messages and bytes waiting for one subscriber at most.
    static let maxQueued = 256
    static let maxQueuedBytes = 1 << 20

    private struct Queue {
        var items: [(topic: [UInt8], payload: [UInt8])] = []
        var bytes = 0
        var delivering = false
        var dropped = 0
    }

    private let queues = Mutex<[String: Queue]>([:])

    /// Queues a message for `app`; false when it was dropped (the queue is full).
    @discardableResult
    func offer(app: String, supervisor: AppSupervisor, topic: String, payload: [UInt8]) -> Bool {
        let start: Bool? = queues.withLock { all in
            var q = all[app] ?? Queue()
            defer { all[app] = q }
            guard q.items.count < Self.maxQueued, q.bytes + payload.count <= Self.maxQueuedBytes else {
                q.dropped += 1
                return nil
            }
            q.items.append((Array(topic.utf8), payload))
            q.bytes += payload.count
            guard !q.delivering else { return false }
            q.delivering = true
            return true
        }
        guard let start else { return false }
        if start { deliverNext(app, supervisor) }
        return true
    }

    /// Messages dropped for `app` because it did not keep up.
    func dropped(_ app: String) -> Int { queues.withLock { $0[app]?.dropped ?? 0 } }

    private func deliverNext(_ app: String, _ supervisor: AppSupervisor) {
        let next: (topic: [UInt8], payload: [UInt8])? = queues.withLock { all in
            guard var q = all[app], !q.items.isEmpty else {
                all[app]?.delivering = false
                return nil
            }
            let item = q.items.removeFirst()
            q.bytes -= item.payload.count
            all[app] = q
            return item
        }
        guard let next else { return }
        supervisor.submitEvent(kind: 4, topic: next.topic, payload: next.payload, token: 0) { [self] _ in
            // Best effort: a failed delivery is not retried.
            deliverNext(app, supervisor)
        }
    }
}
