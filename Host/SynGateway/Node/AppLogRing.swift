import Foundation
import SynSandbox

/// The last `capacity` log lines of each app, kept in memory for `syneroym apps logs` (stderr or the journal has
/// them all).
final class AppLogRing: @unchecked Sendable {
    struct Line: Sendable {
        let time: Date
        let level: Int32
        let message: String
        let requestID: String
    }

    let capacity: Int
    private let lock = Mutex()
    private var lines: [String: [Line]] = [:]
    private var heads: [String: Int] = [:]

    init(capacity: Int = 1000) { self.capacity = capacity }

    func append(_ line: AppLogLine) {
        let entry = Line(time: Date(), level: line.level, message: line.message, requestID: line.requestID)
        lock.withLock {
            var ring = lines[line.app, default: []]
            if ring.count < capacity {
                ring.append(entry)
            } else {
                let head = heads[line.app, default: 0]
                ring[head] = entry
                heads[line.app] = (head + 1) % capacity
            }
            lines[line.app] = ring
        }
    }

    /// The most recent `count` lines of `app`, oldest first.
    func recent(_ app: String, count: Int) -> [Line] {
        lock.withLock {
            let ring = lines[app] ?? []
            let head = heads[app, default: 0]
            let ordered = ring.count < capacity ? ring : Array(ring[head...] + ring[..<head])
            return Array(ordered.suffix(max(0, count)))
        }
    }
}
